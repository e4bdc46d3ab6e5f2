from django.urls import path

from demo import views

app_name = "demo"

urlpatterns = [
    path("", views.cart, name="cart"),
    path("add/", views.add_to_cart, name="add"),
    path("update/", views.update_cart, name="update"),
    path("orders/<int:pk>/", views.order, name="order"),
]
