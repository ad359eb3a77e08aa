select
    order_id,
    customer_id,
    ordered_at,
    cast(ordered_at as date) as order_date,
    status,
    -- cancelled and returned orders earn nothing
    status not in ('cancelled', 'returned') as is_revenue,
    shipping_fee
from {{ source('shop', 'orders') }}
