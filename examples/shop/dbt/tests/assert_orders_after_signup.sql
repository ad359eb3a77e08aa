-- A customer orders only after signing up: a rule across two tables (orders.ordered_at >=
-- customers.signup_date). It holds on the real data (prod) and, because specs/orders.yml
-- declares it as a cross-table constraint (`low: customer_id.signup_date, high: ordered_at`),
-- on the synthetic data too (dev). Without that constraint 14% of synthetic orders broke it.
select o.order_id, o.ordered_at, c.signup_date
from {{ ref('stg_orders') }} as o
join {{ ref('stg_customers') }} as c using (customer_id)
where cast(o.ordered_at as date) < c.signup_date
