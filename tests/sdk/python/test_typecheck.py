"""The strict decoding check itself (``typecheck.py``): it catches what a typed client would
reject, on objects made by hand, so a quiet run means something."""

import typecheck


def product(**changes):
    value = {
        "id": "prod_1", "object": "product", "active": True, "created": 1, "default_price": None,
        "description": None, "images": [], "livemode": False, "marketing_features": [],
        "metadata": {}, "name": "P", "package_dimensions": None, "shippable": None,
        "statement_descriptor": None, "tax_code": None, "tax_details": None, "type": "service",
        "unit_label": None, "updated": 1, "url": None,
    }
    value.update(changes)
    return value


def test_a_whole_product_fits():
    assert typecheck.problems(product()) == []


def test_a_missing_field_a_null_an_unknown_field_and_a_wrong_type_are_caught():
    broken = product(livemode=None, surprise=1, created="yesterday")
    del broken["name"]
    found = typecheck.problems(broken)
    assert "product.name: missing, but not Optional" in found
    assert "product.livemode: null, but not Optional" in found
    assert "product.surprise: a field the class does not annotate" in found
    assert any(p.startswith("product.created: expected int") for p in found), found


def test_error_envelopes_are_checked_as_error_objects():
    assert typecheck.problems({"error": {"type": "card_error", "message": "m", "code": "card_declined"}}) == []
    assert typecheck.problems({"error": {"type": "card_error", "colour": "red"}}) == [
        "error.colour: a field the class does not annotate"
    ]
