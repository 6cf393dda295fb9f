from __future__ import annotations

import pytest

from simulators.twilio.demo import script
from simulators.twilio.people import Person


def test_people_are_scripted_from_the_command_line() -> None:
    daughter = Person("+8613900000001")
    script(daughter, "after:2:presses:1")
    assert (daughter.call_outcome, daughter.answer_after_s) == ("answer", 2.0)
    assert daughter.next_digits() == "1"
    worker = Person("+8613800000001")
    script(worker, "never_answers:replies:1")
    assert worker.call_outcome == "no-answer"
    assert worker.take_replies() == ["1"]


def test_an_unknown_behaviour_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown behaviour 'dances'"):
        script(Person("+8613900000001"), "dances")
