from django.urls import path

from friday.billing import views

app_name = "billing"
urlpatterns = [
    path("invoices/", views.invoice_list, name="list"),
    path("invoices/new/", views.invoice_create, name="create"),
    path("invoices/<int:invoice_id>/", views.invoice_detail, name="detail"),
    path("invoices/<int:invoice_id>/edit/", views.invoice_edit, name="edit"),
    path("invoices/<int:invoice_id>/delete/", views.invoice_delete, name="delete"),
    path("invoices/<int:invoice_id>/issue/", views.invoice_issue, name="issue"),
    path("invoices/<int:invoice_id>/pay/", views.payment_record, name="pay"),
    path("invoices/<int:invoice_id>/void/", views.invoice_void, name="void"),
    path("invoices/<int:invoice_id>/pdf/", views.invoice_pdf, name="pdf"),
    path("d/<str:token>/", views.public_pdf, name="public_pdf"),
]
