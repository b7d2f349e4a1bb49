"""The simulated resources: fields, required and read-only ones, language fields, methods.

Field lists follow the PrestaShop classes' ``$definition`` and ``webserviceParameters`` as
reference/shop-apis.md §3.6 lists them (orders [PS4], order_details [PS5], order_histories
[PS6], stock_availables [PS7], specific_prices [PS8], products and combinations [PS14]); the
remaining ones are trimmed to what a sync reads.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DATE_FIELDS", "RESOURCES", "Resource"]

ALL = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"})
#: date fields: filterable only with ``date=1`` (§3.4, [PS1])
DATE_FIELDS = frozenset({"date_add", "date_upd", "invoice_date", "delivery_date"})


@dataclass(frozen=True)
class Resource:
    """One webservice resource: ``singular`` names its element (``orders`` → ``order``)."""

    name: str
    singular: str
    fields: tuple[str, ...]
    required: frozenset[str] = frozenset()
    #: fields with ``setter: false`` (400 code 93 when sent)
    read_only: frozenset[str] = frozenset()
    #: language fields: ``{language id: text}`` in state
    languages: frozenset[str] = frozenset()
    #: association name → the element of one entry and its fields
    associations: tuple[tuple[str, str, tuple[str, ...]], ...] = ()
    methods: frozenset[str] = ALL
    #: fields computed by the shop (400 code 34 when filtered on)
    dynamic: frozenset[str] = frozenset()


def _r(name: str, singular: str, fields: str, **kw: object) -> Resource:
    return Resource(name, singular, ("id", *fields.split()), **kw)  # type: ignore[arg-type]


_ORDER_FIELDS = """id_address_delivery id_address_invoice id_cart id_currency id_lang id_customer
id_carrier current_state module invoice_number invoice_date delivery_number delivery_date valid
date_add date_upd shipping_number note id_shop_group id_shop secure_key payment recyclable gift
gift_message mobile_theme total_discounts total_discounts_tax_incl total_discounts_tax_excl
total_paid total_paid_tax_incl total_paid_tax_excl total_paid_real total_products
total_products_wt total_shipping total_shipping_tax_incl total_shipping_tax_excl carrier_tax_rate
total_wrapping total_wrapping_tax_incl total_wrapping_tax_excl round_mode round_type
conversion_rate reference"""

_ORDER_ROW = [
    "id",
    "product_id",
    "product_attribute_id",
    "product_quantity",
    "product_name",
    "product_reference",
    "product_ean13",
    "product_isbn",
    "product_upc",
    "product_price",
    "id_customization",
    "unit_price_tax_incl",
    "unit_price_tax_excl",
]

_DETAIL_FIELDS = """id_order product_id product_attribute_id id_shop id_warehouse product_name
product_quantity product_quantity_in_stock product_quantity_refunded product_quantity_return
product_quantity_reinjected product_price reduction_percent reduction_amount
reduction_amount_tax_incl reduction_amount_tax_excl group_reduction product_ean13
product_reference product_mpn id_tax_rules_group tax_computation_method ecotax
unit_price_tax_incl unit_price_tax_excl total_price_tax_incl total_price_tax_excl
total_shipping_price_tax_incl total_shipping_price_tax_excl original_product_price"""

RESOURCES: dict[str, Resource] = {
    r.name: r
    for r in (
        _r(
            "orders",
            "order",
            _ORDER_FIELDS,
            required=frozenset(
                [
                    "id_address_delivery",
                    "id_address_invoice",
                    "id_cart",
                    "id_currency",
                    "id_lang",
                    "id_customer",
                    "id_carrier",
                    "module",
                    "payment",
                    "total_paid",
                    "total_paid_real",
                    "total_products",
                    "total_products_wt",
                    "conversion_rate",
                ]
            ),
            associations=(("order_rows", "order_row", tuple(_ORDER_ROW)),),
            methods=frozenset({"GET", "HEAD", "POST", "PUT", "PATCH"}),
        ),
        _r(
            "order_details",
            "order_detail",
            _DETAIL_FIELDS,
            required=frozenset({"id_order", "product_name", "product_quantity", "product_price"}),
            associations=(("taxes", "tax", ("id",)),),
        ),
        _r(
            "order_histories",
            "order_history",
            "id_employee id_order_state id_order date_add",
            required=frozenset({"id_order_state", "id_order"}),
        ),
        _r(
            "order_states",
            "order_state",
            "unremovable delivery hidden send_email module_name invoice color logable shipped "
            "paid pdf_delivery pdf_invoice deleted name template",
            languages=frozenset({"name", "template"}),
        ),
        _r(
            "order_carriers",
            "order_carrier",
            "id_order id_carrier id_order_invoice weight shipping_cost_tax_excl "
            "shipping_cost_tax_incl tracking_number date_add",
            required=frozenset({"id_order", "id_carrier"}),
        ),
        _r(
            "order_cart_rules",
            "order_cart_rule",
            "id_order id_cart_rule id_order_invoice name value value_tax_excl free_shipping",
            required=frozenset({"id_order", "id_cart_rule", "name", "value", "value_tax_excl"}),
        ),
        _r(
            "cart_rules",
            "cart_rule",
            "id_customer date_from date_to description quantity code reduction_percent "
            "reduction_amount reduction_tax free_shipping active date_add date_upd name",
            languages=frozenset({"name"}),
        ),
        _r(
            "customers",
            "customer",
            "id_default_group id_lang newsletter optin email firstname lastname company siret "
            "is_guest active date_add date_upd id_shop birthday passwd",
            required=frozenset({"email", "firstname", "lastname", "passwd"}),
            associations=(("groups", "group", ("id",)),),
        ),
        _r(
            "addresses",
            "address",
            "id_customer id_country id_state alias company lastname firstname vat_number "
            "address1 address2 postcode city other phone phone_mobile dni deleted date_add "
            "date_upd",
            required=frozenset(
                {"id_country", "alias", "lastname", "firstname", "address1", "city"}
            ),
        ),
        _r("countries", "country", "iso_code active name", languages=frozenset({"name"})),
        _r("currencies", "currency", "iso_code name conversion_rate active"),
        _r(
            "carriers",
            "carrier",
            "name active deleted is_free delay",
            languages=frozenset({"delay"}),
        ),
        _r("taxes", "tax", "rate active deleted name", languages=frozenset({"name"})),
        _r("tax_rule_groups", "tax_rule_group", "name active deleted date_add date_upd"),
        _r(
            "tax_rules",
            "tax_rule",
            "id_tax_rules_group id_state id_country zipcode_from zipcode_to id_tax behavior "
            "description",
            required=frozenset({"id_tax_rules_group", "id_country", "id_tax"}),
        ),
        _r(
            "groups",
            "group",
            "reduction price_display_method show_prices name",
            languages=frozenset({"name"}),
        ),
        _r(
            "messages",
            "message",
            "id_cart id_order id_customer id_employee message private date_add",
            required=frozenset({"message"}),
        ),
        _r(
            "products",
            "product",
            "id_manufacturer id_default_combination id_tax_rules_group reference ean13 mpn "
            "price wholesale_price active quantity date_add date_upd name description link_rewrite",
            required=frozenset({"price", "name", "link_rewrite"}),
            read_only=frozenset({"quantity"}),
            languages=frozenset({"name", "description", "link_rewrite"}),
            associations=(
                ("combinations", "combination", ("id",)),
                ("stock_availables", "stock_available", ("id", "id_product_attribute")),
            ),
        ),
        _r(
            "combinations",
            "combination",
            "id_product reference ean13 mpn price wholesale_price unit_price_impact weight "
            "minimal_quantity default_on quantity",
            required=frozenset({"id_product", "minimal_quantity"}),
        ),
        _r(
            "stock_availables",
            "stock_available",
            "id_product id_product_attribute id_shop id_shop_group quantity depends_on_stock "
            "out_of_stock location",
            required=frozenset(
                [
                    "id_product",
                    "id_product_attribute",
                    "quantity",
                    "depends_on_stock",
                    "out_of_stock",
                ]
            ),
            methods=frozenset({"GET", "HEAD", "PUT", "PATCH"}),
        ),
        _r(
            "specific_prices",
            "specific_price",
            "id_shop_group id_shop id_cart id_product id_product_attribute id_currency id_country "
            "id_group id_customer id_specific_price_rule price from_quantity reduction "
            "reduction_tax reduction_type from to",
            required=frozenset(
                [
                    "id_shop",
                    "id_cart",
                    "id_product",
                    "id_currency",
                    "id_country",
                    "id_group",
                    "id_customer",
                    "price",
                    "from_quantity",
                    "reduction",
                    "reduction_tax",
                    "reduction_type",
                    "from",
                    "to",
                ]
            ),
        ),
    )
}
