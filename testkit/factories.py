"""factory_boy factories shared by every app's tests."""

import factory
from django.contrib.auth import get_user_model

from blog.models import Post
from usertasks.models import Task

PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def save_password(user, create, extracted, **kwargs):
        if create:
            user.save()


class PostFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Post

    author = factory.SubFactory(UserFactory)
    body = factory.Faker("sentence")


class TaskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Task

    id = factory.Faker("hexify", text="^" * 32)
    kind = "export_posts"
    user = factory.SubFactory(UserFactory)
