from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """The site's own user model (AUTH_USER_MODEL), as many Wagtail sites have."""

    job_title = models.CharField(max_length=100, blank=True)
