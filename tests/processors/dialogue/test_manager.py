import dataclasses
import datetime as dt
import json
import random
from typing import Any

from processors.dialogue.facts import DialogueFacts
from processors.dialogue.manager import Action, CallTool, DialogueManager, Say, Stage

KOLKATA = dt.timezone(dt.timedelta(hours=5, minutes=30))
NOW = dt.datetime(2026, 12, 3, 18, 0, tzinfo=KOLKATA)  # Thursday 3 December 2026
FACTS = DialogueFacts(
    business_name="Himalayan Kitchen",
    timezone="Asia/Kolkata",
    hours="Tuesday to Sunday, 12 noon to 3:30 pm and 7 to 11 pm",
    hours_hi="mangalvaar se ravivaar, dopahar 12 se 3:30 aur shaam 7 se raat 11 baje tak",
    address="12 Hauz Khas Village, New Delhi",
    persona="Tara",
    max_party_size=12,
    languages=("en", "hi"),
    can_transfer=True,
)
AVAILABLE = {"available": True, "reason": "available", "seats_left": 20, "alternatives": []}
BOOKING = {
    "code": "K7QD",
    "code_spelled": "K 7 Q D",
    "name": "Priya",
    "party_size": 4,
    "when": "2026-12-04 19:30 (Friday)",
    "status": "confirmed",
}


class Call:
    """One scripted call: the caller's lines and the tools' answers go in, actions come out."""

    def __init__(self, facts: DialogueFacts = FACTS, language: str = "en") -> None:
        self.manager = DialogueManager(facts, clock=lambda: NOW, language=language)
        self.tools: list[CallTool] = []

    def hear(self, text: str) -> list[Action]:
        return self._keep(self.manager.hear(text))

    def answer(self, result: Any) -> list[Action]:
        pending = self.manager.pending
        assert pending is not None, "no tool call is waiting for a result"
        content = result if isinstance(result, str) else json.dumps(result)
        return self._keep(self.manager.tool_result(pending.name, pending.arguments, content))

    def _keep(self, actions: list[Action]) -> list[Action]:
        self.tools += [action for action in actions if isinstance(action, CallTool)]
        return actions


def said(actions: list[Action]) -> str:
    return " ".join(action.text for action in actions if isinstance(action, Say))


def called(actions: list[Action]) -> CallTool:
    calls = [action for action in actions if isinstance(action, CallTool)]
    assert len(calls) == 1, f"expected one tool call in {actions}"
    return calls[0]


def test_manager_books_a_table_step_by_step() -> None:
    call = Call()
    assert said(call.hear("Hi, I'd like to book a table")) == "Sure. For how many people?"
    assert said(call.hear("four people")) == "Which day, and at what time?"
    check = called(call.hear("Friday at 7:30 pm"))
    assert check == CallTool(
        "check_availability", {"date": "2026-12-04", "time": "19:30", "party_size": 4}
    )
    assert said(call.answer(AVAILABLE)) == (
        "Good news, a table for 4 on Friday 4 December at 7:30 pm is available. "
        "May I have your name for the booking?"
    )
    assert said(call.hear("my name is Priya")) == (
        "So that is a table for 4 on Friday 4 December at 7:30 pm, under Priya. Shall I book it?"
    )
    book = called(call.hear("yes"))
    assert book == CallTool(
        "book_reservation",
        {
            "date": "2026-12-04",
            "time": "19:30",
            "party_size": 4,
            "name": "Priya",
            "confirmed_by_caller": True,
        },
    )
    reply = said(call.answer({**BOOKING, "status": "booked"}))
    assert reply == (
        "Your table is booked. Your booking code is K, 7, Q, D. "
        "Is there anything else I can help with?"
    )
    end = called(call.hear("no, that's all"))
    assert end == CallTool(
        "end_call", {"farewell": "Thank you for calling Himalayan Kitchen. Goodbye!"}
    )
    assert call.manager.ended
    assert call.hear("hello?") == []


def test_manager_books_in_one_breath_with_a_known_caller() -> None:
    call = Call(dataclasses.replace(FACTS, caller_name="Rahul"))
    called(call.hear("Table for 2 tomorrow at 8 pm please"))
    assert said(call.answer(AVAILABLE)) == (
        "So that is a table for 2 on Friday 4 December at 8 pm, under Rahul. Shall I book it?"
    )
    assert called(call.hear("yes please")).arguments["name"] == "Rahul"


def test_manager_offers_alternatives_and_takes_the_one_named() -> None:
    call = Call()
    called(call.hear("a table for 4 tomorrow at 7 pm"))
    full = {
        "available": False,
        "reason": "full",
        "message": "there is no room for 4 at 2026-12-04 19:00",
        "seats_left": 0,
        "alternatives": ["2026-12-04 20:00 (Friday)", "2026-12-05 19:00 (Saturday)"],
    }
    assert said(call.answer(full)) == (
        "Sorry, we're fully booked for 4 people on Friday 4 December at 7 pm. "
        "I could offer 8 pm tomorrow or 7 pm on Saturday. Would one of those work?"
    )
    assert said(call.hear("8 pm is fine")) == (
        "Great, a table for 4 on Friday 4 December at 8 pm it is. "
        "May I have your name for the booking?"
    )
    call.hear("Rahul")
    book = called(call.hear("yes"))
    assert (book.arguments["date"], book.arguments["time"]) == ("2026-12-04", "20:00")
    # The alternative was known free: no second availability check.
    assert [tool.name for tool in call.tools] == ["check_availability", "book_reservation"]


def test_manager_takes_an_alternative_by_position_and_asks_which_on_a_plain_yes() -> None:
    call = Call()
    called(call.hear("for 6 on Saturday at 8 pm"))
    call.answer(
        {
            "available": False,
            "reason": "full",
            "alternatives": ["2026-12-05 21:00 (Saturday)", "2026-12-06 20:00 (Sunday)"],
        }
    )
    assert said(call.hear("yes")) == "Which one would you like: 9 pm on Saturday or 8 pm on Sunday?"
    call.hear("the second one")
    assert call.manager.draft.date == dt.date(2026, 12, 6)
    assert call.manager.stage is Stage.NAME


def test_manager_offers_a_new_slot_when_the_booking_is_refused() -> None:
    call = Call(dataclasses.replace(FACTS, caller_name="Priya"))
    called(call.hear("4 people tomorrow 7:30 pm"))
    call.answer(AVAILABLE)
    called(call.hear("yes"))
    refused = {
        "status": "not_booked",
        "reason": "full",
        "message": "there is no room",
        "alternatives": ["2026-12-04 21:00 (Friday)"],
    }
    assert said(call.answer(refused)).endswith("I could offer 9 pm tomorrow. Would that work?")
    assert said(call.hear("yes")).startswith(
        "So that is a table for 4 on Friday 4 December at 9 pm"
    )


def test_manager_applies_corrections_and_reads_back_again() -> None:
    call = Call()
    called(call.hear("a table for 4 on Friday at 7:30 pm"))
    call.answer(AVAILABLE)
    call.hear("it's under Priya")

    recheck = called(call.hear("no, make it five"))
    assert recheck.arguments == {"date": "2026-12-04", "time": "19:30", "party_size": 5}
    assert "a table for 5 on Friday 4 December at 7:30 pm" in said(call.answer(AVAILABLE))

    recheck = called(call.hear("actually 8 pm"))
    assert recheck.arguments["time"] == "20:00"
    call.answer(AVAILABLE)

    recheck = called(call.hear("change it to Saturday"))
    assert recheck.arguments == {"date": "2026-12-05", "time": "20:00", "party_size": 5}
    assert said(call.answer(AVAILABLE)) == (
        "So that is a table for 5 on Saturday 5 December at 8 pm, under Priya. Shall I book it?"
    )

    assert said(call.hear("no, it's under Neha")).endswith("under Neha. Shall I book it?")
    assert said(call.hear("no")) == "No problem. What would you like to change?"
    assert called(call.hear("make it 7 pm")).arguments["time"] == "19:00"


def test_manager_takes_a_party_correction_when_it_asked_for_the_name() -> None:
    call = Call()
    called(call.hear("a table for 4 on Friday at 7:30 pm"))
    assert said(call.answer(AVAILABLE)).endswith("May I have your name for the booking?")

    recheck = called(call.hear("no, make it five"))
    assert recheck.arguments == {"date": "2026-12-04", "time": "19:30", "party_size": 5}
    assert said(call.answer(AVAILABLE)) == (
        "Good news, a table for 5 on Friday 4 December at 7:30 pm is available. "
        "May I have your name for the booking?"
    )
    assert said(call.hear("Priya")).startswith("So that is a table for 5")


def test_manager_drops_the_booking_when_the_caller_will_not_give_a_name() -> None:
    call = Call()
    called(call.hear("do you have a table for 2 tomorrow at 8"))
    call.answer(AVAILABLE)
    assert said(call.hear("no, I was just checking")) == (
        "Okay, I haven't booked anything. Is there anything else I can help with?"
    )
    assert call.manager.stage is Stage.ANYTHING_ELSE
    assert call.tools[-1].name == "check_availability"


def test_manager_drops_the_booking_when_the_caller_backs_out() -> None:
    call = Call(dataclasses.replace(FACTS, caller_name="Priya"))
    called(call.hear("for two tomorrow at 8"))
    call.answer(AVAILABLE)
    assert said(call.hear("no, forget it, cancel that")) == (
        "Okay, I haven't booked anything. Is there anything else I can help with?"
    )
    assert call.manager.draft.party is None


def test_manager_cancels_by_code_after_confirming_which_booking() -> None:
    call = Call()
    find = called(call.hear("I want to cancel my booking, the code is K 7 Q D"))
    assert find == CallTool("find_reservation", {"code": "K7QD"})
    assert said(call.answer({"found": 1, "reservations": [BOOKING]})) == (
        "I found a table for 4 on Friday 4 December at 7:30 pm, under Priya. Shall I cancel it?"
    )
    assert called(call.hear("yes please")) == CallTool("cancel_reservation", {"code": "K7QD"})
    assert said(call.answer({**BOOKING, "status": "cancelled"})) == (
        "Done. Your booking for Friday 4 December at 7:30 pm is cancelled. "
        "Is there anything else I can help with?"
    )


def test_manager_says_which_code_it_found_when_it_heard_another() -> None:
    call = Call(dataclasses.replace(FACTS, caller_number_known=False))
    assert called(call.hear("cancel my booking, the code is K 7 Q B")).arguments == {"code": "K7QB"}
    near = {"found": 1, "reservations": [BOOKING], "heard_code": "K7QB", "note": "..."}
    assert said(call.answer(near)) == (
        "I have no booking with the code K, 7, Q, B, but I do have one with the code K, 7, Q, D. "
        "I found a table for 4 on Friday 4 December at 7:30 pm, under Priya. Shall I cancel it?"
    )
    assert called(call.hear("yes")) == CallTool("cancel_reservation", {"code": "K7QD"})

    finder = Call(dataclasses.replace(FACTS, caller_number_known=False))
    called(finder.hear("can you look up booking K 7 Q B"))
    assert said(finder.answer(near)).startswith(
        "I have no booking with the code K, 7, Q, B, but I do have one with the code K, 7, Q, D. "
        "I found your booking: a table for 4"
    )


def test_manager_reads_a_code_with_a_digit_heard_as_a_word() -> None:
    call = Call(dataclasses.replace(FACTS, caller_number_known=False))
    find = called(call.hear("I want to cancel, the code is seven m n p for x"))
    assert find.arguments == {"code": "7MNP4X"}


def test_manager_asks_for_the_code_again_when_it_is_not_found() -> None:
    call = Call(dataclasses.replace(FACTS, caller_number_known=False))
    assert said(call.hear("I need to cancel a reservation")) == (
        "I can't see the number you're calling from, so I'll need the booking code. What is it?"
    )
    assert called(call.hear("it's A C E F 3 4")).arguments == {"code": "ACEF34"}
    assert said(call.answer({"found": 0, "reservations": []})) == (
        "I couldn't find a booking with the code A, C, E, F, 3, 4. "
        "Could you check it and say it again?"
    )
    assert called(call.hear("K 7 Q D")).arguments == {"code": "K7QD"}


def test_manager_keeps_the_booking_when_the_caller_says_no() -> None:
    call = Call()
    called(call.hear("cancel booking K7QD"))
    call.answer({"found": 1, "reservations": [BOOKING]})
    assert said(call.hear("no, keep it")) == (
        "Okay, I've left your booking as it is. Is there anything else I can help with?"
    )
    assert [tool.name for tool in call.tools] == ["find_reservation"]


def test_manager_finds_bookings_by_the_callers_number() -> None:
    call = Call()
    assert called(call.hear("can you check my booking?")) == CallTool("find_reservation", {})
    other = {**BOOKING, "code": "AC34", "party_size": 2, "when": "2026-12-10 20:00 (Thursday)"}
    assert said(call.answer({"found": 2, "reservations": [BOOKING, other]})) == (
        "I found 2 bookings: a table for 4 on Friday 4 December at 7:30 pm, under Priya, "
        "code K, 7, Q, D; a table for 2 on Thursday 10 December at 8 pm, under Priya, "
        "code A, C, 3, 4. Is there anything else I can help with?"
    )


def test_manager_cancels_one_of_several_bookings_found_by_number() -> None:
    call = Call()
    called(call.hear("I want to cancel my reservation"))
    other = {**BOOKING, "code": "AC34", "party_size": 2, "when": "2026-12-10 20:00 (Thursday)"}
    reply = said(call.answer({"found": 2, "reservations": [BOOKING, other]}))
    assert reply.endswith("Which one should I cancel? You can say the first or the second.")
    assert said(call.hear("the second one")).startswith("I found a table for 2 on Thursday")
    assert called(call.hear("yes")) == CallTool("cancel_reservation", {"code": "AC34"})


def test_manager_asks_for_a_code_when_the_number_has_no_booking() -> None:
    call = Call()
    called(call.hear("find my booking"))
    assert said(call.answer({"found": 0, "reservations": []})) == (
        "I couldn't find an upcoming booking for the number you're calling from. "
        "Do you have the booking code?"
    )
    assert said(call.hear("no I don't")).startswith("Sorry, I didn't catch that.")
    assert call.manager.stage is Stage.ANYTHING_ELSE


def test_manager_answers_hours_and_address_then_returns_to_its_question() -> None:
    call = Call()
    assert said(call.hear("What time do you open?")) == (
        "We're open Tuesday to Sunday, 12 noon to 3:30 pm and 7 to 11 pm. "
        "Would you like to book a table?"
    )
    assert said(call.hear("yes")) == "For how many people?"
    assert said(call.hear("where are you located?")) == (
        "We're at 12 Hauz Khas Village, New Delhi. For how many people?"
    )
    assert said(call.hear("three")) == "Which day, and at what time?"


def test_manager_says_who_it_is() -> None:
    call = Call()
    assert said(call.hear("who am I speaking to?")) == (
        "This is Tara from Himalayan Kitchen. Would you like to book a table?"
    )


def test_manager_says_goodbye_through_end_call() -> None:
    call = Call()
    end = called(call.hear("bye"))
    assert end.name == "end_call"
    assert end.arguments["farewell"] == "Thank you for calling Himalayan Kitchen. Goodbye!"
    assert said([end]) == ""  # the tool speaks the farewell itself
    assert call.manager.pending is None


def test_manager_says_goodbye_in_hindi() -> None:
    call = Call(language="hi")
    end = called(call.hear("nahi bas, dhanyavaad"))
    assert end.arguments == {
        "farewell": "Himalayan Kitchen ko call karne ke liye dhanyavaad. Namaste!"
    }


def test_manager_offers_a_transfer_for_a_party_too_large() -> None:
    call = Call()
    assert said(call.hear("we are 20 people, Saturday 8 pm")) == (
        "I'm sorry, I can only book tables for up to 12 people. For a bigger group I can put you "
        "through to our staff. Shall I do that?"
    )
    actions = call.hear("yes please")
    assert said(actions) == "Sure, let me put you through to someone at the restaurant."
    assert called(actions) == CallTool("transfer_to_staff", {})
    assert call.answer({"status": "transferring"}) == []
    assert call.manager.ended


def test_manager_tells_the_limit_when_there_is_no_transfer() -> None:
    call = Call(dataclasses.replace(FACTS, can_transfer=False))
    assert said(call.hear("table for 15 tomorrow at 8")) == (
        "I'm sorry, I can only book tables for up to 12 people. "
        "Would you like to book for 12 or fewer?"
    )
    assert called(call.hear("12")).arguments == {
        "date": "2026-12-04",
        "time": "20:00",
        "party_size": 12,
    }


def test_manager_takes_yes_or_no_to_a_smaller_party() -> None:
    declined = Call(dataclasses.replace(FACTS, can_transfer=False))
    declined.hear("table for 15 tomorrow at 8")
    assert said(declined.hear("no")) == (
        "Okay, I haven't booked anything. Is there anything else I can help with?"
    )
    assert declined.tools == []

    accepted = Call(dataclasses.replace(FACTS, can_transfer=False))
    accepted.hear("table for 15 tomorrow at 8")
    assert said(accepted.hear("yes")) == "For how many people?"
    assert called(accepted.hear("10")).arguments["party_size"] == 10

    after_transfer = Call()
    after_transfer.hear("we are 20 people, Saturday 8 pm")
    assert "12 or fewer" in said(after_transfer.hear("no thanks"))
    assert said(after_transfer.hear("no")).startswith("Okay, I haven't booked anything.")


def test_manager_reads_a_weekday_among_the_offers_as_the_day_offered() -> None:
    # Thursday: offered next Thursday's times, "Thursday" is the Thursday offered, not today.
    closed = {
        "available": False,
        "reason": "closed",
        "alternatives": ["2026-12-10 20:00 (Thursday)", "2026-12-10 20:30 (Thursday)"],
    }
    call = Call()
    called(call.hear("a table for 2 on Monday at 8 pm"))
    call.answer(closed)
    assert said(call.hear("okay, thursday at 8 then")) == (
        "Great, a table for 2 on Thursday 10 December at 8 pm it is. "
        "May I have your name for the booking?"
    )
    assert call.manager.draft.date == dt.date(2026, 12, 10)

    # Offered today too, "Thursday" stays today.
    both = {
        "available": False,
        "reason": "full",
        "alternatives": ["2026-12-03 21:00 (Thursday)", "2026-12-10 21:00 (Thursday)"],
    }
    call = Call()
    called(call.hear("a table for 2 tonight at 8 pm"))
    call.answer(both)
    call.hear("thursday at 9 please")
    assert call.manager.draft.date == dt.date(2026, 12, 3)


def test_manager_books_in_hinglish_and_answers_in_hindi() -> None:
    call = Call()
    assert said(call.hear("namaste, kal ke liye table book karni hai")) == (
        "Zaroor. Kitne logon ke liye?"
    )
    assert said(call.hear("hum char log")) == "Kitne baje?"
    check = called(call.hear("shaam saadhe saat baje"))
    assert check.arguments == {"date": "2026-12-04", "time": "19:30", "party_size": 4}
    assert said(call.answer(AVAILABLE)) == (
        "Achhi khabar, shukravaar, 4 December, shaam 7:30 baje, 4 logon ke liye table khaali hai. "
        "Booking kis naam se karun?"
    )
    assert said(call.hear("mera naam Amit hai")) == (
        "Toh shukravaar, 4 December, shaam 7:30 baje, 4 logon ke liye table, Amit ji ke naam se. "
        "Kya main booking kar doon?"
    )
    assert called(call.hear("haan ji")).arguments["name"] == "Amit"
    assert said(call.answer({**BOOKING, "name": "Amit", "status": "booked"})) == (
        "Aapki table book ho gayi hai. Aapka booking code hai K, 7, Q, D. "
        "Aur kuch madad kar sakti hoon?"
    )


def test_manager_reads_devanagari() -> None:
    call = Call()
    check = called(call.hear("हम पाँच लोग कल शाम सात बजे"))
    assert check.arguments == {"date": "2026-12-04", "time": "19:00", "party_size": 5}
    assert call.manager.language == "hi"


def test_manager_switches_language_on_a_sentence_not_a_word() -> None:
    call = Call()
    call.hear("book a table for two")
    assert said(call.hear("haan")) == "Sorry, I didn't catch that. Which day, and at what time?"
    assert called(call.hear("kal shaam saat baje")).name == "check_availability"
    assert call.manager.language == "hi"
    assert said(call.answer(AVAILABLE)).startswith("Achhi khabar")
    call.hear("Neha")
    assert called(call.hear("yes please")).name == "book_reservation"
    assert call.manager.language == "en"


def test_manager_stays_in_english_when_hindi_is_not_offered() -> None:
    call = Call(dataclasses.replace(FACTS, languages=("en",)))
    assert said(call.hear("kal ke liye table book karni hai")) == "Sure. For how many people?"


def test_manager_only_offers_to_book_after_an_availability_question() -> None:
    call = Call()
    called(call.hear("is there availability on friday for 6 at 8"))
    assert said(call.answer(AVAILABLE)) == (
        "Yes, a table for 6 on Friday 4 December at 8 pm is available. "
        "Would you like me to book it?"
    )
    assert said(call.hear("yes")) == "May I have your name for the booking?"


def test_manager_asks_for_a_phone_number_when_the_number_is_withheld() -> None:
    call = Call(dataclasses.replace(FACTS, caller_number_known=False))
    called(call.hear("book a table for 2 today at 9 pm"))
    call.answer(AVAILABLE)
    assert said(call.hear("Neha")) == "And a phone number we can reach you on?"
    assert said(call.hear("98110 45213")).endswith("under Neha. Shall I book it?")
    assert called(call.hear("yes")).arguments["phone"] == "+919811045213"


def test_manager_offers_a_retry_when_a_tool_fails() -> None:
    call = Call()
    check = called(call.hear("a table for 2 tomorrow at 8 pm"))
    failed = {"status": "error", "error": "OperationalError", "say": "apologise"}
    assert said(call.answer(failed)) == (
        "I'm sorry, I couldn't reach our booking system just now. Shall I try again?"
    )
    assert called(call.hear("yes")) == check
    # A handler that raised leaves pipecat's plain-text error in the context.
    assert said(call.answer("The function `check_availability` failed and returned no result."))
    assert call.manager.stage is Stage.RETRY


def test_manager_asks_again_when_the_caller_speaks_while_a_tool_runs() -> None:
    call = Call()
    called(call.hear("table for 2 tomorrow at 8 pm"))
    assert said(call.hear("actually make it 9 pm")) == "One moment, please."
    # The result is for 8 pm; the caller now wants 9 pm, so that is checked instead.
    assert called(call.answer(AVAILABLE)).arguments["time"] == "21:00"


def test_manager_checks_again_when_an_interruption_cancelled_the_check() -> None:
    # "table for 2 tomorrow at 8, <pause> pm please": the pause ended the turn, the check
    # started, the rest interrupted it. A check only reads: it is made again at once.
    call = Call()
    called(call.hear("table for 2 tomorrow at 8 pm"))
    assert said(call.hear("please")) == "One moment, please."
    again = called(call.answer("CANCELLED"))
    assert (again.name, again.arguments["time"]) == ("check_availability", "20:00")
    assert call.manager.pending is again


def test_manager_forgets_a_booking_an_interruption_cancelled() -> None:
    call = Call()
    called(call.hear("table for 2 tomorrow at 8 pm"))
    call.answer(AVAILABLE)
    call.hear("Priya")
    assert called(call.hear("yes")).name == "book_reservation"
    assert call.answer("CANCELLED") == []
    assert call.manager.pending is None


def test_manager_ignores_results_nobody_asked_for() -> None:
    call = Call()
    assert call.manager.tool_result("book_reservation", {}, json.dumps({"status": "booked"})) == []


def test_manager_re_asks_and_then_offers_a_person_when_it_keeps_missing() -> None:
    call = Call()
    call.hear("table please")
    assert said(call.hear("hmm well")) == "Sorry, I didn't catch that. For how many people?"
    assert said(call.hear("uh")) == "Sorry, I didn't catch that. For how many people?"
    assert said(call.hear("blah")) == (
        "I'm sorry, I'm having trouble understanding. Shall I put you through to someone at "
        "the restaurant?"
    )


def test_manager_repeats_itself_when_asked() -> None:
    call = Call()
    call.hear("book a table")
    assert said(call.hear("sorry?")) == "Sure. For how many people?"


def test_manager_recovers_with_its_last_question() -> None:
    call = Call()
    call.hear("table for 3")
    assert said(call.manager.recover()) == (
        "Sorry, I didn't catch that. Which day, and at what time?"
    )


def test_manager_never_fails_whatever_it_hears() -> None:
    lines = [
        "yes", "no", "haan", "nahi", "table for 4", "tomorrow", "8 pm", "kal shaam saat baje",
        "Priya", "cancel", "K 7 Q D", "find my booking", "what time do you open", "the first one",
        "make it five", "20 people", "manager", "", "???", "hum do log", "98110 45213", "sorry?",
        "for 0", "at 25", "99:99", "the 31st", "0", "13 pm", "the other one", "😀", "ॐ",
    ]  # fmt: skip
    results: dict[str, list[Any]] = {
        "check_availability": [
            AVAILABLE,
            {"available": False, "reason": "full", "alternatives": ["2026-12-04 20:00", "bad"]},
            {"available": False, "reason": "party_too_large"},
            {"status": "error"},
            {"status": "invalid", "error": "x"},
            "CANCELLED",
            "not json",
        ],
        "book_reservation": [
            {"status": "booked", "code": "K7QD"},
            {"status": "not_booked", "reason": "full", "alternatives": []},
            {"status": "invalid"},
            {"status": "not_booked"},
        ],
        "find_reservation": [
            {"found": 0, "reservations": []},
            {"found": 1, "reservations": [BOOKING]},
            {"found": 2, "reservations": [{"code": "A", "when": "x"}, {"code": "B"}]},
            {"status": "need_code"},
        ],
        "cancel_reservation": [{"status": "cancelled"}, {"status": "not_found"}, "COMPLETED"],
        "transfer_to_staff": [{"status": "failed"}, {"status": "transferring"}],
    }
    rng = random.Random(5)
    for _ in range(300):
        facts = dataclasses.replace(
            FACTS, can_transfer=rng.random() < 0.5, caller_number_known=rng.random() < 0.5
        )
        call = Call(facts, language=rng.choice(["en", "hi"]))
        for _ in range(12):
            pending = call.manager.pending
            if pending is not None and pending.name in results and rng.random() < 0.8:
                actions = call.answer(rng.choice(results[pending.name]))
            else:
                actions = call.hear(rng.choice(lines))
            assert all(isinstance(action, Say | CallTool) for action in actions)
    assert {tool.name for tool in call.tools} <= {*results, "end_call"}


def test_a_smaller_party_named_at_the_transfer_offer_is_booked_not_transferred() -> None:
    for answer in ("okay, make it 12 then", "okay make it twelve then"):
        call = Call()
        assert "up to 12 people" in said(call.hear("we need a table for 15 on friday at 8"))
        check = called(call.hear(answer))
        assert check == CallTool(
            "check_availability", {"date": "2026-12-04", "time": "20:00", "party_size": 12}
        )
    call = Call()
    call.hear("we need a table for 15 on friday at 8")
    assert called(call.hear("okay")).name == "transfer_to_staff"
