from django.urls import path

from qingquan.connections import portal_views as connections
from qingquan.portal import assist_views, views, wxpay_views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.login, name="login"),
    path("logout/", views.logout, name="logout"),
    path("demo-sms/", views.demo_sms, name="demo_sms"),
    path("elder/", views.elder, name="elder"),
    path("accounts/add/", views.bind, name="bind"),
    path("accounts/<int:pk>/", views.account, name="account"),
    path("accounts/<int:pk>/remove/", views.unbind, name="unbind"),
    path("accounts/<int:pk>/subscribe/", views.subscribe, name="subscribe"),
    path("pay/", views.pay, name="pay"),
    path("pay/wechat/", wxpay_views.wxpay, name="wxpay"),
    path("pay/wechat/back/", wxpay_views.oauth_back, name="wxpay_oauth"),
    path("pay/wechat/<str:out_trade_no>/", wxpay_views.wxpay_order, name="wxpay_order"),
    path("invoices/<int:bill>/", views.invoice, name="invoice"),
    path("cases/", views.cases, name="cases"),
    path("cases/<str:number>/", views.case, name="case"),
    path("photos/<int:pk>/", views.photo, name="photo"),
    path("repair/", views.repair, name="repair"),
    path("question/", views.question, name="question"),
    path("connections/", connections.mine, name="connections"),
    path("connections/new/", connections.apply, name="connection_new"),
    path("connections/<str:number>/", connections.detail, name="connection"),
    path("connections/<str:number>/sign/", connections.sign, name="connection_sign"),
    path("assist/", assist_views.book, name="assist"),
]
