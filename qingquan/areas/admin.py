from django.contrib import admin

from qingquan.areas.models import Community, District, Street
from qingquan.core.admin import CapabilityAdmin


class AreaAdmin(CapabilityAdmin):
    view_capability = "areas.view"
    change_capability = "areas.manage"


@admin.register(District)
class DistrictAdmin(AreaAdmin):
    list_display = ["code", "name"]
    search_fields = ["name", "code"]


@admin.register(Street)
class StreetAdmin(AreaAdmin):
    list_display = ["name", "district"]
    list_filter = ["district"]
    search_fields = ["name", "district__name"]
    list_select_related = ["district"]


@admin.register(Community)
class CommunityAdmin(AreaAdmin):
    list_display = ["name", "street"]
    list_filter = ["street__district"]
    search_fields = ["name", "street__name"]
    list_select_related = ["street__district"]
    autocomplete_fields = ["street"]
