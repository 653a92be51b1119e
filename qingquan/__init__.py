"""清泉 Qingquan: one platform for a city water utility's customer service."""
