-- One row per day with at least one order.
with order_totals as (
    select
        o.order_id,
        o.order_date,
        o.is_revenue,
        o.shipping_fee,
        coalesce(sum(i.line_amount), 0) as items_amount,
        coalesce(sum(i.quantity), 0) as items_count
    from {{ ref('stg_orders') }} as o
    left join {{ ref('stg_order_items') }} as i using (order_id)
    group by all
)

select
    order_date,
    count(*) as order_count,
    count(*) filter (where is_revenue) as revenue_order_count,
    coalesce(sum(items_count) filter (where is_revenue), 0) as items_sold,
    cast(coalesce(sum(items_amount) filter (where is_revenue), 0) as decimal(14, 2)) as product_revenue,
    cast(coalesce(sum(shipping_fee) filter (where is_revenue), 0) as decimal(14, 2)) as shipping_revenue,
    cast(coalesce(sum(items_amount + shipping_fee) filter (where is_revenue), 0) as decimal(14, 2)) as total_revenue
from order_totals
group by all
order by order_date
