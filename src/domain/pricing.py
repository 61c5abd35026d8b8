"""What an image costs in credits: the `[pricing]` factors of the plans file.

Credits per image = ceil(product of the factors matching the request's quality, size and
model); a missing factor is 1. Factors are exact fractions (read from the TOML text, never
through binary floats), so 1.5 x 2 is exactly 3 and never rounds up to 4.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction

from domain.models import ImageRequest


@dataclass(frozen=True, slots=True)
class Pricing:
    quality: Mapping[str, Fraction] = field(default_factory=dict)
    size: Mapping[str, Fraction] = field(default_factory=dict)
    model: Mapping[str, Fraction] = field(default_factory=dict)

    def per_image(self, request: ImageRequest) -> int:
        one = Fraction(1)
        product = (
            self.quality.get(request.quality.value, one)
            * self.size.get(request.size, one)
            * self.model.get(request.model, one)
        )
        return max(1, math.ceil(product))

    def job_cost(self, request: ImageRequest) -> int:
        """What a job is charged, and what its refund gives back."""
        return request.n * self.per_image(request)


FLAT = Pricing()  # every image 1 credit: the behaviour without a plans file
