select
    customer_id,
    full_name,
    email,
    phone,
    city,
    segment,
    signup_date,
    birth_date,
    referred_by as referred_by_customer_id,
    date_diff('year', birth_date, signup_date) as age_at_signup_years
from {{ source('shop', 'customers') }}
