from django.urls import path

from friday.messaging import views

app_name = "messaging"
urlpatterns = [
    path("templates/", views.template_list, name="templates"),
    path("templates/new/", views.template_edit, name="template_new"),
    path("templates/preview/", views.template_preview, name="template_preview"),
    path("templates/<int:template_id>/", views.template_edit, name="template_edit"),
    path("templates/<int:template_id>/delete/", views.template_delete, name="template_delete"),
    path("outbox/", views.outbox, name="outbox"),
    path("mail/", views.mail_list, name="mail"),
    path("mail/<int:message_id>/", views.mail_detail, name="mail_detail"),
    path("mail/attachments/<int:attachment_id>/", views.mail_attachment, name="mail_attachment"),
    path("outbox/send-kept/", views.release_held, name="release_held"),
    path("outbox/<int:message_id>/", views.message_detail, name="message"),
    path("outbox/<int:message_id>/retry/", views.message_retry, name="retry"),
]
