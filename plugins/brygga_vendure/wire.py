"""Vendure Admin API wire models (GraphQL ``data`` shapes) and the queries that fetch them.

Every query and mutation the adapter sends is here, next to the Struct its answer decodes
into, so the field lists and the models cannot drift apart. Field names are Vendure's
(camelCase); amounts are integers in the currency's minor units (docs.vendure.io, "Money &
Currency": "all monetary values are stored as integers"). Verified against Vendure 3.7.3
(contrib/real/vendure, reference/real-peers.md §B).
"""

from __future__ import annotations

from typing import Any

import msgspec

__all__ = [
    "ORDER_FIELDS",
    "AddressWire",
    "ChannelWire",
    "CustomerWire",
    "ErrorWire",
    "FulfillmentWire",
    "GqlError",
    "HistoryEntryWire",
    "OrderLineWire",
    "OrderSummaryWire",
    "OrderWire",
    "PaymentWire",
    "ShippingLineWire",
    "SurchargeWire",
    "VariantWire",
    "decode_envelope",
]


class _Wire(msgspec.Struct, rename="camel", kw_only=True):
    """Unknown fields are ignored (a newer Vendure may add some)."""


class GqlError(_Wire):
    message: str = ""
    extensions: dict[str, Any] = {}

    @property
    def code(self) -> str:
        return str(self.extensions.get("code", ""))


class Envelope(_Wire):
    data: dict[str, msgspec.Raw] | None = None
    errors: list[GqlError] = []


def decode_envelope(body: bytes) -> Envelope:
    return msgspec.json.decode(body, type=Envelope)


class ErrorWire(_Wire):
    """A mutation's ErrorResult (``errorCode``, ``message``) or a success (``__typename``)."""

    typename: str = msgspec.field(default="", name="__typename")
    error_code: str = ""
    message: str = ""
    transition_error: str = ""


class AddressWire(_Wire):
    full_name: str | None = None
    company: str | None = None
    street_line1: str | None = None
    street_line2: str | None = None
    city: str | None = None
    province: str | None = None
    postal_code: str | None = None
    country_code: str | None = None
    phone_number: str | None = None


class CustomerUserWire(_Wire):
    id: str


class CustomerWire(_Wire):
    id: str
    email_address: str = ""
    first_name: str = ""
    last_name: str = ""
    phone_number: str | None = None
    user: CustomerUserWire | None = None


class VariantRefWire(_Wire):
    id: str
    sku: str = ""
    name: str = ""


class DiscountWire(_Wire):
    amount: int = 0
    amount_with_tax: int = 0
    description: str = ""


class OrderLineWire(_Wire):
    id: str
    quantity: int
    unit_price: int
    unit_price_with_tax: int
    line_price: int
    line_price_with_tax: int
    prorated_line_price: int
    prorated_line_price_with_tax: int
    tax_rate: float
    product_variant: VariantRefWire


class ShippingMethodWire(_Wire):
    code: str = ""
    name: str = ""


class ShippingLineWire(_Wire):
    price: int
    price_with_tax: int
    discounted_price: int
    discounted_price_with_tax: int
    shipping_method: ShippingMethodWire | None = None


class SurchargeWire(_Wire):
    price: int
    price_with_tax: int
    tax_rate: float
    sku: str | None = None
    description: str = ""


class PaymentWire(_Wire):
    id: str
    state: str
    amount: int
    method: str = ""


class FulfillmentLineWire(_Wire):
    order_line_id: str
    quantity: int


class FulfillmentWire(_Wire):
    id: str
    state: str
    method: str = ""
    tracking_code: str | None = None
    lines: list[FulfillmentLineWire] = []


class HistoryEntryWire(_Wire):
    id: str
    type: str
    data: dict[str, Any] = {}
    created_at: str = ""


class HistoryListWire(_Wire):
    items: list[HistoryEntryWire] = []
    total_items: int = 0


class OrderSummaryWire(_Wire):
    """One row of the change feed."""

    id: str
    code: str
    state: str
    updated_at: str
    order_placed_at: str | None = None


class OrderWire(_Wire):
    id: str
    code: str
    state: str
    active: bool
    created_at: str
    updated_at: str
    currency_code: str
    total: int
    total_with_tax: int
    order_placed_at: str | None = None
    customer: CustomerWire | None = None
    shipping_address: AddressWire | None = None
    billing_address: AddressWire | None = None
    lines: list[OrderLineWire] = []
    shipping_lines: list[ShippingLineWire] = []
    surcharges: list[SurchargeWire] = []
    payments: list[PaymentWire] | None = None
    fulfillments: list[FulfillmentWire] | None = None
    history: HistoryListWire | None = None


class ListWire(_Wire):
    total_items: int = 0


class OrderListWire(ListWire):
    items: list[OrderSummaryWire] = []


class TaxRateWire(_Wire):
    value: float


class VariantPriceWire(_Wire):
    currency_code: str
    price: int


class VariantWire(_Wire):
    id: str
    sku: str
    name: str = ""
    enabled: bool = True
    price: int = 0
    price_with_tax: int = 0
    currency_code: str = ""
    stock_on_hand: int = 0
    stock_allocated: int = 0
    track_inventory: str = "INHERIT"
    out_of_stock_threshold: int = 0
    use_global_out_of_stock_threshold: bool = True
    tax_rate_applied: TaxRateWire | None = None
    prices: list[VariantPriceWire] = []
    updated_at: str | None = None


class VariantListWire(ListWire):
    items: list[VariantWire] = []


class ChannelWire(_Wire):
    code: str
    default_currency_code: str
    default_language_code: str = "en"
    available_currency_codes: list[str] = []
    prices_include_tax: bool = False


class GlobalSettingsWire(_Wire):
    out_of_stock_threshold: int = 0
    track_inventory: bool = True


class OrderProcessStateWire(_Wire):
    name: str
    to: list[str] = []


class ServerConfigWire(_Wire):
    order_process: list[OrderProcessStateWire] = []


class SettingsWire(GlobalSettingsWire):
    server_config: ServerConfigWire | None = None


# -- queries ---------------------------------------------------------------------------------

LOGIN = (
    "mutation Login($username: String!, $password: String!) {"
    " login(username: $username, password: $password) {"
    " __typename ... on ErrorResult { errorCode message } } }"
)

ORDER_FIELDS = """
  id code state active createdAt updatedAt orderPlacedAt currencyCode total totalWithTax
  customer { id emailAddress firstName lastName phoneNumber user { id } }
  shippingAddress { fullName company streetLine1 streetLine2 city province postalCode
                    countryCode phoneNumber }
  billingAddress { fullName company streetLine1 streetLine2 city province postalCode
                   countryCode phoneNumber }
  lines { id quantity unitPrice unitPriceWithTax linePrice linePriceWithTax
          proratedLinePrice proratedLinePriceWithTax taxRate
          productVariant { id sku name } }
  shippingLines { price priceWithTax discountedPrice discountedPriceWithTax
                  shippingMethod { code name } }
  surcharges { sku description price priceWithTax taxRate }
  payments { id state amount method }
  fulfillments { id state method trackingCode lines { orderLineId quantity } }
"""

#: the order with its notes (history entries of type ORDER_NOTE: where the export mark lives)
ORDER = (
    "query Order($id: ID!) { order(id: $id) {"
    + ORDER_FIELDS
    + ' history(options: {take: 100, filter: {type: {eq: "ORDER_NOTE"}},'
    " sort: {createdAt: DESC}}) { totalItems items { id type data createdAt } } } }"
)

#: the change feed: orders past checkout (``orderPlacedAt`` set) changed in a window,
#: by id (stable while orders change), a page at a time
ORDERS_CHANGED = (
    "query Changed($start: DateTime!, $end: DateTime!, $skip: Int!, $take: Int!) {"
    " orders(options: {skip: $skip, take: $take,"
    " filter: {updatedAt: {between: {start: $start, end: $end}},"
    " orderPlacedAt: {isNull: false}},"
    " sort: {id: ASC}}) {"
    " totalItems items { id code state updatedAt orderPlacedAt } } }"
)

VARIANT_FIELDS = (
    "id sku name enabled price priceWithTax currencyCode stockOnHand stockAllocated"
    " trackInventory outOfStockThreshold useGlobalOutOfStockThreshold"
    " taxRateApplied { value } prices { currencyCode price } updatedAt"
)

VARIANT_BY_SKU = (
    "query VariantBySku($sku: String!) { productVariants(options: {take: 2,"
    " filter: {sku: {eq: $sku}}}) { totalItems items { " + VARIANT_FIELDS + " } } }"
)

CHANNEL = (
    "query Channel { activeChannel { code defaultCurrencyCode availableCurrencyCodes"
    " pricesIncludeTax defaultLanguageCode } }"
)

CHANNEL_ZONE = "query ChannelZone { activeChannel { defaultTaxZone { id } } }"


class IdWire(_Wire):
    id: str


class TaxRateRowWire(_Wire):
    id: str
    value: float
    category: IdWire
    enabled: bool = True
    zone: IdWire | None = None


class TaxRateListWire(_Wire):
    items: list[TaxRateRowWire] = []


class ProductVariantRefWire(_Wire):
    id: str
    sku: str = ""


class ProductWire(_Wire):
    id: str
    slug: str = ""
    variants: list[ProductVariantRefWire] = []


TAX_RATES = (
    "query TaxRates { taxRates(options: {take: 1000}) { items { id value enabled"
    " category { id } zone { id } } } }"
)

PRODUCT_BY_SLUG = (
    "query ProductBySlug($slug: String!) { product(slug: $slug) { id slug variants { id sku } } }"
)

CREATE_PRODUCT = (
    "mutation CreateProduct($input: CreateProductInput!) { createProduct(input: $input) {"
    " id slug variants { id sku } } }"
)

CREATE_VARIANTS = (
    "mutation CreateVariants($input: [CreateProductVariantInput!]!) {"
    " createProductVariants(input: $input) { id sku } }"
)

SETTINGS = (
    "query Settings { globalSettings { outOfStockThreshold trackInventory"
    " serverConfig { orderProcess { name to } } } }"
)

UPDATE_VARIANT = (
    "mutation UpdateVariant($input: UpdateProductVariantInput!) {"
    " updateProductVariants(input: [$input]) { " + VARIANT_FIELDS + " } }"
)

ADD_NOTE = "mutation AddNote($input: AddNoteToOrderInput!) { addNoteToOrder(input: $input) { id } }"

SETTLE_PAYMENT = (
    "mutation Settle($id: ID!) { settlePayment(id: $id) {"
    " __typename ... on ErrorResult { errorCode message }"
    " ... on SettlePaymentError { paymentErrorMessage } } }"
)

ADD_FULFILLMENT = (
    "mutation Fulfil($input: FulfillOrderInput!) { addFulfillmentToOrder(input: $input) {"
    " __typename ... on Fulfillment { id state }"
    " ... on ErrorResult { errorCode message }"
    " ... on FulfillmentStateTransitionError { transitionError } } }"
)

TRANSITION_FULFILLMENT = (
    "mutation FulfilState($id: ID!, $state: String!) {"
    " transitionFulfillmentToState(id: $id, state: $state) {"
    " __typename ... on ErrorResult { errorCode message }"
    " ... on FulfillmentStateTransitionError { transitionError } } }"
)

TRANSITION_ORDER = (
    "mutation OrderState($id: ID!, $state: String!) {"
    " transitionOrderToState(id: $id, state: $state) {"
    " __typename ... on ErrorResult { errorCode message }"
    " ... on OrderStateTransitionError { transitionError } } }"
)

CANCEL_ORDER = (
    "mutation Cancel($input: CancelOrderInput!) { cancelOrder(input: $input) {"
    " __typename ... on ErrorResult { errorCode message } } }"
)


def decode(raw: msgspec.Raw | None, type_: type[Any]) -> Any:
    """One field of ``data`` decoded into ``type_`` (None stays None)."""
    if raw is None:
        return None
    return msgspec.json.decode(raw, type=type_ | None)
