"""The query parameters that choose one page of a list, the same on every list route."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

# A page's offset is (page - 1) * page_size and the stores take it as a 64-bit integer; a
# million pages of the largest size (100 M rows deep) is past any list a caller reads, and the
# bound turns an absurd page into a 422 instead of an overflow in the store.
MAX_PAGE = 1_000_000
MAX_PAGE_SIZE = 100

PageNumber = Annotated[int, Query(ge=1, le=MAX_PAGE, description="1-based page number.")]
PageSize = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Items per page.")]
