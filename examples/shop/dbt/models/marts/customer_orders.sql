-- One row per customer (customers without orders included): order counts and revenue.
-- No direct identifiers: marts carry the key and the analytical attributes only.
with order_totals as (
    select
        o.order_id,
        o.customer_id,
        o.ordered_at,
        o.is_revenue,
        o.shipping_fee,
        coalesce(sum(i.line_amount), 0) as items_amount,
        coalesce(sum(i.quantity), 0) as items_count
    from {{ ref('stg_orders') }} as o
    left join {{ ref('stg_order_items') }} as i using (order_id)
    group by all
)

select
    c.customer_id,
    c.segment,
    c.city,
    c.signup_date,
    count(t.order_id) as order_count,
    count(t.order_id) filter (where t.is_revenue) as revenue_order_count,
    min(t.ordered_at) as first_ordered_at,
    max(t.ordered_at) as last_ordered_at,
    coalesce(sum(t.items_count) filter (where t.is_revenue), 0) as items_purchased,
    cast(coalesce(sum(t.items_amount) filter (where t.is_revenue), 0) as decimal(14, 2)) as product_revenue,
    cast(coalesce(sum(t.shipping_fee) filter (where t.is_revenue), 0) as decimal(14, 2)) as shipping_revenue,
    cast(coalesce(sum(t.items_amount + t.shipping_fee) filter (where t.is_revenue), 0) as decimal(14, 2)) as total_revenue
from {{ ref('stg_customers') }} as c
left join order_totals as t using (customer_id)
group by all
