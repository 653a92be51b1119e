from django.urls import path

from qingquan.messaging import views

app_name = "messaging"

urlpatterns = [
    path("receipts/sms/", views.sms_receipts, name="sms_receipts"),
    path("receipts/wechat/", views.wechat_receipts, name="wechat_receipts"),
    path("replies/sms/", views.sms_replies, name="sms_replies"),
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/poll/", views.inbox_poll, name="inbox_poll"),
    path("inbox/<int:pk>/answer/", views.inbox_answer, name="inbox_answer"),
]
