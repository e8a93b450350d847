"""Catalog API: the product list, paginated, for tills to cache (and refresh by change time)."""

from __future__ import annotations

from flask_smorest import Blueprint

from loyalty.catalog import schemas, services
from loyalty.http import db_session

URL_PREFIX = "/catalog"
blp = Blueprint("catalog", __name__, description="Products and categories")


@blp.route("/products", methods=["GET"])
@blp.arguments(schemas.ProductListArgs, location="query")
@blp.response(200, schemas.ProductSchema(many=True))
@blp.paginate()
def list_products(args: dict, pagination_parameters):  # type: ignore[no-untyped-def]
    """Products, oldest change first (``page``, ``page_size``, ``updated_since``)."""
    products, total = services.list_products(
        db_session(), offset=pagination_parameters.first_item,
        limit=pagination_parameters.page_size, updated_since=args["updated_since"],
    )
    pagination_parameters.item_count = total
    return products
