-- The customer mart and the daily mart add up to the same revenue (no order lost in a join).
with by_customer as (select sum(total_revenue) as revenue from {{ ref('customer_orders') }}),
     by_day as (select sum(total_revenue) as revenue from {{ ref('daily_revenue') }})
select by_customer.revenue as customer_revenue, by_day.revenue as daily_revenue
from by_customer, by_day
where coalesce(by_customer.revenue, 0) <> coalesce(by_day.revenue, 0)
