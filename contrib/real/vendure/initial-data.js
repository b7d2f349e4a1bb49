// Initial data for the seeded shop: Swedish VAT (25 % standard, 12 % reduced), Nordic
// countries in one zone, one shipping method (49.00) and the dummy payment handler that
// authorizes without settling (an order ends in PaymentAuthorized).
exports.initialData = {
  defaultLanguage: 'en',
  defaultZone: 'Europe',
  taxRates: [
    { name: 'Standard Tax', percentage: 25 },
    { name: 'Reduced Tax', percentage: 12 },
  ],
  shippingMethods: [{ name: 'Standard Shipping', price: 4900 }],
  paymentMethods: [
    {
      name: 'Standard Payment',
      handler: {
        code: 'dummy-payment-handler',
        arguments: [{ name: 'automaticSettle', value: 'false' }],
      },
    },
  ],
  countries: [
    { name: 'Sweden', code: 'SE', zone: 'Europe' },
    { name: 'Norway', code: 'NO', zone: 'Europe' },
    { name: 'Denmark', code: 'DK', zone: 'Europe' },
    { name: 'Finland', code: 'FI', zone: 'Europe' },
  ],
  collections: [],
};
