-- A customer orders only after signing up. This rule spans two tables (orders.ordered_at >=
-- customers.signup_date), which per-table synthesis does not guarantee, so it warns instead of
-- failing: it holds on the real data (prod) and shows how often it breaks on synthetic (dev).
{{ config(severity='warn') }}
select o.order_id, o.ordered_at, c.signup_date
from {{ ref('stg_orders') }} as o
join {{ ref('stg_customers') }} as c using (customer_id)
where cast(o.ordered_at as date) < c.signup_date
