{{ planhat_staging('products', custom_fields_of='Product') }}
