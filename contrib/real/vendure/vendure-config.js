// The Vendure config shared by seed.js and server.js (reference: real-peers.md §B).
// Everything comes from the environment so the tests can run several servers side by side:
//   PORT                 the port to listen on (127.0.0.1 only)
//   VENDURE_DB           the sql.js database file (a fresh copy per server)
//   VENDURE_SUPERADMIN   / VENDURE_SUPERADMIN_PASSWORD  the admin login
// The plugin list must be the same in seed.js and server.js (real-peers §B gotcha:
// "no such table: job_record" otherwise).
const fs = require('fs');
const path = require('path');
const {
  DefaultJobQueuePlugin,
  DefaultSearchPlugin,
  dummyPaymentHandler,
} = require('@vendure/core');

const dbFile = process.env.VENDURE_DB || path.join(__dirname, 'vendure-sqljs.sqlite');

exports.config = {
  apiOptions: {
    hostname: '127.0.0.1',
    port: Number(process.env.PORT || 3000),
    adminApiPath: 'admin-api',
    shopApiPath: 'shop-api',
  },
  authOptions: {
    tokenMethod: ['bearer', 'cookie'],
    requireVerification: false,
    superadminCredentials: {
      identifier: process.env.VENDURE_SUPERADMIN || 'superadmin',
      password: process.env.VENDURE_SUPERADMIN_PASSWORD || 'superadmin',
    },
    cookieOptions: { secret: 'brygga-real-vendure-cookie-secret' },
  },
  dbConnectionOptions: {
    type: 'sqljs',
    location: dbFile,
    // The server works in memory on a copy of the seeded file (thrown away after the tests).
    // seed.js sets VENDURE_DB_SAVE=true: then every committed change is written with a
    // synchronous write (TypeORM's own autoSave writes asynchronously, and a process that
    // exits meanwhile leaves a truncated file).
    autoSave: process.env.VENDURE_DB_SAVE === 'true',
    autoSaveCallback: data => fs.writeFileSync(dbFile, Buffer.from(data)),
    synchronize: false,
    logging: false,
  },
  paymentOptions: { paymentMethodHandlers: [dummyPaymentHandler] },
  plugins: [
    DefaultJobQueuePlugin.init({ pollInterval: 1000 }),
    DefaultSearchPlugin.init({ bufferUpdates: false }),
  ],
};
