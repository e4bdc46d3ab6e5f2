"""Shop views: add to cart, the cart page with checkout, the order confirmation."""

from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from demo.models import Order, ProductPage
from demo.shop import Cart, discount_for, place_order

SESSION_ORDERS = "demo_orders"


class CheckoutForm(forms.Form):
    email = forms.EmailField(label="Your email", help_text="We send the order confirmation here.")
    discount_code = forms.CharField(label="Discount code", max_length=32, required=False)

    def clean_discount_code(self):
        code = self.cleaned_data["discount_code"].strip()
        if code and not discount_for(code):
            raise forms.ValidationError("This discount code is not valid.")
        return code


def _quantity(request):
    try:
        return max(0, min(99, int(request.POST.get("quantity", 1))))
    except (TypeError, ValueError):
        return 1


@require_POST
def add_to_cart(request):
    product = get_object_or_404(ProductPage.objects.live(), sku=request.POST.get("sku"))
    Cart(request).add(product, _quantity(request) or 1)
    messages.success(request, f"{product.title} is in your cart.")
    return redirect("demo:cart")


@require_POST
def update_cart(request):
    product = get_object_or_404(ProductPage.objects.live(), sku=request.POST.get("sku"))
    Cart(request).set_quantity(product, _quantity(request))
    return redirect("demo:cart")


def cart(request):
    shopping_cart = Cart(request)
    form = CheckoutForm(
        request.POST or None, initial={"email": request.session.get("demo_email", "")}
    )
    if request.method == "POST" and len(shopping_cart) and form.is_valid():
        order = place_order(request, shopping_cart, **form.cleaned_data)
        request.session[SESSION_ORDERS] = [*request.session.get(SESSION_ORDERS, []), order.pk]
        return redirect("demo:order", pk=order.pk)
    context = {"cart": shopping_cart, "lines": shopping_cart.lines(), "form": form}
    return render(request, "demo/cart.html", context)


def order(request, pk):
    """The confirmation page; a visitor sees only the orders placed in their own session."""
    if pk not in request.session.get(SESSION_ORDERS, []):
        return redirect("demo:cart")
    return render(request, "demo/order.html", {"order": get_object_or_404(Order, pk=pk)})
