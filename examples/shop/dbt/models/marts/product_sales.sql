-- One row per product (unsold products included): orders, units and revenue of revenue orders
-- (lines of cancelled and returned orders do not count).
select
    p.product_id,
    p.product_name,
    p.category,
    p.list_price,
    count(distinct o.order_id) filter (where o.is_revenue) as order_count,
    coalesce(sum(i.quantity) filter (where o.is_revenue), 0) as units_sold,
    cast(coalesce(sum(i.line_amount) filter (where o.is_revenue), 0) as decimal(14, 2)) as product_revenue
from {{ ref('stg_products') }} as p
left join {{ ref('stg_order_items') }} as i on i.product_id = p.product_id
left join {{ ref('stg_orders') }} as o on o.order_id = i.order_id
group by all
