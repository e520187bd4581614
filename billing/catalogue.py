"""The default plan catalogue from the business plan (DESIGN.md, Plans)."""

from decimal import Decimal

MB = 1024**2
GB = 1024**3
ALL_FEATURES = ["audio", "files", "analytics", "api", "white_label"]

DEFAULT_PLANS = [
    {
        "code": "starter", "name": "Starter", "sort_order": 1,
        "price_monthly": Decimal("197.00"), "price_yearly": Decimal("1970.00"),
        "max_agents": 3, "max_conversations_month": 1_000, "storage_bytes": 5 * GB,
        "features": ["files"],
    },
    {
        "code": "professional", "name": "Professional", "sort_order": 2,
        "price_monthly": Decimal("497.00"), "price_yearly": Decimal("4970.00"),
        "max_agents": 10, "max_conversations_month": 10_000, "storage_bytes": 25 * GB,
        "features": ["files", "audio", "analytics"],
    },
    {
        "code": "business", "name": "Business", "sort_order": 3,
        "price_monthly": Decimal("997.00"), "price_yearly": Decimal("9970.00"),
        "max_agents": 25, "max_conversations_month": 50_000, "storage_bytes": 100 * GB,
        "features": ["files", "audio", "analytics", "api"],
    },
    {
        "code": "enterprise", "name": "Enterprise", "sort_order": 4,
        "price_monthly": None, "price_yearly": None,
        "max_agents": None, "max_conversations_month": None, "storage_bytes": 500 * GB,
        "features": ALL_FEATURES,
    },
    {
        "code": "white-label", "name": "White-Label", "sort_order": 5,
        "price_monthly": Decimal("2997.00"), "price_yearly": None,
        "max_agents": None, "max_conversations_month": None, "storage_bytes": None,
        "features": ALL_FEATURES,
    },
]

# Fields added after the first catalogue (billing/migrations/0004 seeds them; 0002 keeps
# seeding only the fields that existed then). None = unlimited.
# Largest single file per plan (the platform's ORBIT_CHAT_MAX_UPLOAD_BYTES stays the ceiling).
DEFAULT_MAX_UPLOAD_BYTES = {
    "starter": 5 * MB,
    "professional": 10 * MB,
    "business": 25 * MB,
    "enterprise": 50 * MB,
    "white-label": 50 * MB,
}

DEFAULT_PLAN_LIMITS = {
    "starter": {"api_requests_per_minute": 60, "api_burst": 20, "yearly_discount_percent": Decimal("16.67")},
    "professional": {"api_requests_per_minute": 300, "api_burst": 60, "yearly_discount_percent": Decimal("16.67")},
    "business": {"api_requests_per_minute": 1200, "api_burst": 200, "yearly_discount_percent": Decimal("16.67")},
    "enterprise": {"api_requests_per_minute": 6000, "api_burst": 1000, "yearly_discount_percent": Decimal("20.00")},
    "white-label": {"api_requests_per_minute": None, "api_burst": None, "yearly_discount_percent": Decimal("16.67")},
}

# Overage prices (R$): per conversation beyond the month's quota, per GB beyond the storage
# quota (peak of the month), per agent seat beyond the plan's (peak). None = not sold.
DEFAULT_OVERAGE_PRICES = {
    "starter": {"overage_conversation_price": Decimal("0.30"), "overage_gb_price": Decimal("2.00"),
                "overage_seat_price": Decimal("59.00")},
    "professional": {"overage_conversation_price": Decimal("0.20"), "overage_gb_price": Decimal("1.50"),
                     "overage_seat_price": Decimal("49.00")},
    "business": {"overage_conversation_price": Decimal("0.10"), "overage_gb_price": Decimal("1.00"),
                 "overage_seat_price": Decimal("39.00")},
    "enterprise": {"overage_conversation_price": None, "overage_gb_price": Decimal("0.80"),
                   "overage_seat_price": None},
    "white-label": {"overage_conversation_price": None, "overage_gb_price": None, "overage_seat_price": None},
}
