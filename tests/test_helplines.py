"""Emergency and helpline numbers: every entry sourced, the countries reporters come from covered,
and the reporter's country found offline from a name or a pin."""

from __future__ import annotations

import json

import pytest
import yaml

from flows.country import BOUNDARIES_PATH, country_at, country_named
from flows.helplines import HELPLINES_PATH, helpline_for, load_helplines

EU = ["AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV", "LT",
      "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE"]
DESTINATIONS = ["GB", "US", "CA", "AU"]
ORIGINS = ["AL", "VN", "RO", "NG", "UA", "PL", "ER", "CN", "IN", "PH", "BR", "MX", "MD"]
CAPITALS = {
    "GB": (51.507, -0.128), "US": (38.9, -77.04), "CA": (45.42, -75.7), "AU": (-35.28, 149.13),
    "GR": (37.98, 23.73), "AL": (41.33, 19.82), "VN": (21.03, 105.85), "RO": (44.43, 26.1),
    "NG": (9.06, 7.49), "UA": (50.45, 30.52), "PL": (52.23, 21.01), "ER": (15.33, 38.93),
    "CN": (39.9, 116.4), "IN": (28.61, 77.21), "PH": (14.6, 120.98), "BR": (-15.79, -47.88),
    "MX": (19.43, -99.13), "MT": (35.9, 14.51), "LU": (49.61, 6.13), "XK": (42.66, 21.16),
}


def entries() -> list[tuple[str, dict[str, object]]]:
    data = yaml.safe_load(HELPLINES_PATH.read_text(encoding="utf-8"))
    return [*data["countries"].items(), *data["regions"].items(), ("default", data["default"])]


@pytest.mark.parametrize("name, entry", entries())
def test_every_number_names_its_source(name: str, entry: dict[str, object]) -> None:
    assert str(entry["emergency_source"]).startswith("https://"), name
    if entry.get("helpline"):
        assert entry.get("helpline_name"), name
        assert str(entry["helpline_source"]).startswith("https://"), name


def test_loading_refuses_a_number_without_a_source(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "helplines.yaml"
    path.write_text("countries:\n  GR:\n    emergency: '112'\ndefault:\n  emergency: '112'\n"
                    "  emergency_source: https://example.org\n")
    with pytest.raises(ValueError, match="emergency_source"):
        load_helplines(path)


@pytest.mark.parametrize("country", EU + DESTINATIONS + ORIGINS)
def test_the_eu_destinations_and_main_countries_of_origin_have_their_own_numbers(country: str) -> None:
    assert country in load_helplines(), f"{country} falls back to the default numbers"


def test_an_unknown_country_gets_the_numbers_that_work_almost_anywhere() -> None:
    assert "112" in helpline_for(None).emergency and "911" in helpline_for(None).emergency
    assert helpline_for("GR").emergency == "112" and helpline_for("GR").helpline == "1109"


@pytest.mark.parametrize("country, point", CAPITALS.items())
def test_a_shared_pin_is_placed_in_its_country_offline(country: str, point: tuple[float, float]) -> None:
    assert country_at(*point) == country


def test_a_pin_in_a_harbour_counts_and_one_in_the_open_sea_does_not() -> None:
    assert country_at(37.94, 23.63) == "GR"  # Piraeus, at the quay
    assert country_at(30.0, -40.0) is None  # mid-Atlantic


@pytest.mark.parametrize("text", ["Greece", "greece", "grece", "Grecia", "Grèce", "اليونان", "Grecia ",
                                  "I am in Greece", "Hy Lạp", "Греція", "Greqi", "Grecja", "GREECE!"])
def test_a_country_named_in_any_language_of_the_flow(text: str) -> None:
    assert country_named(text, ["en", "es", "fr", "pt", "ar", "ro", "sq", "vi", "uk", "pl"]) == "GR"


@pytest.mark.parametrize("text, country", [("UK", "GB"), ("England", "GB"), ("usa", "US"), ("Shqipëri", "AL"),
                                           ("Việt Nam", "VN"), ("Polska", "PL"), ("germny", "DE")])
def test_everyday_names_and_typos(text: str, country: str) -> None:
    assert country_named(text, ["en", "sq", "vi", "pl"]) == country


@pytest.mark.parametrize("text", ["help us", "yes", "I don't know", "near the station", ""])
def test_words_that_name_no_country(text: str) -> None:
    assert country_named(text, ["en"]) is None


def test_the_boundary_file_is_plain_topojson_at_its_documented_path() -> None:
    topology = json.loads(BOUNDARIES_PATH.read_text(encoding="utf-8"))
    assert topology["type"] == "Topology" and "countries" in topology["objects"]
    assert (BOUNDARIES_PATH.parent / "README.md").read_text().count("countries-50m.json") >= 2
