-- Every order line sells at least one unit at a non-negative price.
select order_item_id, quantity, unit_price
from {{ ref('stg_order_items') }}
where quantity < 1 or unit_price < 0
