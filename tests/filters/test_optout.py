import json

from filters.optout import parse_optouts


def test_jsonl_format_owners_and_repos_case_insensitive():
    lines = [
        json.dumps({"issue": 1, "author": "a", "optout_repos": [], "optout_owners": ["DFontenot"]}),
        json.dumps({"issue": 3, "author": "b", "optout_repos": ["justinhartman/howto"], "optout_owners": []}),
    ]
    optouts = parse_optouts(lines)
    assert optouts.match("dfontenot/anything") == "dfontenot"
    assert optouts.match("DFONTENOT/Repo") == "dfontenot"
    assert optouts.match("JustinHartman/HowTo") == "justinhartman/howto"
    assert optouts.match("justinhartman/other") is None
    assert optouts.match("dfontenotx/repo") is None
    assert optouts.match(None) is None


def test_plain_text_format():
    optouts = parse_optouts(["# comment", "", "Owner1", "someone/Repo", "  spaced  "])
    assert optouts.match("owner1/x") == "owner1"
    assert optouts.match("someone/repo") == "someone/repo"
    assert optouts.match("spaced/y") == "spaced"
    assert len(optouts) == 3


def test_real_list_parses(shared_dir):
    path = shared_dir / "optout" / "optouts.jsonl"
    optouts = parse_optouts(path.read_text().splitlines(), source=str(path))
    assert optouts.match("dfontenot/x") == "dfontenot"
    assert optouts.match("justinhartman/nix") == "justinhartman/nix"
    assert len(optouts.owners) > 1000
