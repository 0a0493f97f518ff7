"""Every list is paged: ?limit=&offset=, 100 by default, at most 1,000 a page."""

from rest_framework.pagination import LimitOffsetPagination


class Pagination(LimitOffsetPagination):
    default_limit = 100
    max_limit = 1000
