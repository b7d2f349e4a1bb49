// Start the Vendure server on PORT with the sql.js file VENDURE_DB (made by seed.js).
// Prints "VENDURE READY" when the Admin and Shop APIs answer; the job queue runs in the same
// process (bootstrap() alone processes no jobs: real-peers.md §B).
process.env.VENDURE_DISABLE_TELEMETRY = 'true';
const { bootstrap, JobQueueService } = require('@vendure/core');
const { config } = require('./vendure-config');

bootstrap(config)
  .then(app => app.get(JobQueueService).start().then(() => app))
  .then(app => {
    console.log('VENDURE READY');
    const stop = () => app.close().then(() => process.exit(0), () => process.exit(1));
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  })
  .catch(err => {
    console.error(err);
    process.exit(1);
  });
