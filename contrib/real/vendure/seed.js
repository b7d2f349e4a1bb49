// Create a fresh sql.js database at VENDURE_DB: schema, the initial data, the catalog in
// products.csv, and the default channel's currency (VENDURE_CURRENCY, default SEK) and
// prices-include-tax switch (VENDURE_PRICES_INCLUDE_TAX=true|false, default false), set
// before the products are imported so their prices are in that currency.
process.env.VENDURE_DISABLE_TELEMETRY = 'true';
process.env.VENDURE_DB_SAVE = 'true';
const path = require('path');
const {
  bootstrap,
  mergeConfig,
  ChannelService,
  RequestContextService,
} = require('@vendure/core');
const { populateInitialData, importProductsFromCsv } = require('@vendure/core/cli');
const { config } = require('./vendure-config');
const { initialData } = require('./initial-data');

async function main() {
  const app = await bootstrap(
    mergeConfig(config, {
      dbConnectionOptions: { synchronize: true },
      apiOptions: { port: Number(process.env.SEED_PORT || process.env.PORT || 3099) },
    }),
  );
  const currency = process.env.VENDURE_CURRENCY || 'SEK';
  const inclTax = (process.env.VENDURE_PRICES_INCLUDE_TAX || 'false') === 'true';
  const ctx = await app.get(RequestContextService).create({ apiType: 'admin' });
  const channels = app.get(ChannelService);
  const channel = await channels.getDefaultChannel(ctx);
  await channels.update(ctx, {
    id: channel.id,
    defaultCurrencyCode: currency,
    availableCurrencyCodes: [currency],
    pricesIncludeTax: inclTax,
  });
  await populateInitialData(app, initialData);
  const result = await importProductsFromCsv(
    app,
    path.join(__dirname, process.env.VENDURE_PRODUCTS_CSV || 'products.csv'),
    initialData.defaultLanguage,
  );
  if (result.errors && result.errors.length) {
    throw new Error('product import failed: ' + result.errors.join('; '));
  }
  console.log(`SEEDED ${result.imported} products, ${currency}, pricesIncludeTax=${inclTax}`);
  await app.close();
}

main().then(
  () => process.exit(0),
  err => {
    console.error(err);
    process.exit(1);
  },
);
