"""What the dialogue engine says, in English and simple romanised Hindi, and how it says dates.

Hindi is written in roman letters, as the bot's other Hindi lines are (``bot/call.py``), so an
English TTS voice can still read it; every line is one entry of :data:`PHRASES`, so switching
to Devanagari is an edit of this table alone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

ENGLISH_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
HINDI_WEEKDAYS = (
    "somvaar",
    "mangalvaar",
    "budhvaar",
    "guruvaar",
    "shukravaar",
    "shanivaar",
    "ravivaar",
)
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

PHRASES: dict[str, tuple[str, str]] = {
    "ask_party": ("For how many people?", "Kitne logon ke liye?"),
    "ask_date": ("For which day?", "Kis din ke liye?"),
    "ask_time": ("At what time?", "Kitne baje?"),
    "ask_date_time": ("Which day, and at what time?", "Kis din, aur kitne baje?"),
    "sure": ("Sure.", "Zaroor."),
    "available_ask_name": (
        "Good news, {slot} is available. May I have your name for the booking?",
        "Achhi khabar, {slot} khaali hai. Booking kis naam se karun?",
    ),
    "picked_ask_name": (
        "Great, {slot} it is. May I have your name for the booking?",
        "Theek hai, {slot}. Booking kis naam se karun?",
    ),
    "available_offer": (
        "Yes, {slot} is available. Would you like me to book it?",
        "Ji haan, {slot} khaali hai. Kya main booking kar doon?",
    ),
    "ask_name": (
        "May I have your name for the booking?",
        "Booking kis naam se karun?",
    ),
    "need_name": (
        "I need a name to hold the table. What name should I put it under?",
        "Table ke liye ek naam chahiye. Kis naam se book karun?",
    ),
    "ask_phone": (
        "And a phone number we can reach you on?",
        "Aur aapka phone number kya hai?",
    ),
    "readback": (
        "So that is {slot}, under {name}. Shall I book it?",
        "Toh {slot}, {name} ji ke naam se. Kya main booking kar doon?",
    ),
    "yes_or_no": (
        "Shall I book it? Please say yes or no.",
        "Kya main booking kar doon? Haan ya nahi boliye.",
    ),
    "what_change": (
        "No problem. What would you like to change?",
        "Koi baat nahi. Kya badalna hai?",
    ),
    "dropped": (
        "Okay, I haven't booked anything.",
        "Theek hai, maine koi booking nahi ki.",
    ),
    "booked": (
        "Your table is booked. Your booking code is {code}.",
        "Aapki table book ho gayi hai. Aapka booking code hai {code}.",
    ),
    "anything_else": (
        "Is there anything else I can help with?",
        "Aur kuch madad kar sakti hoon?",
    ),
    "how_help": ("Sure, what can I do for you?", "Ji, bataiye, main kya madad karun?"),
    "greeting": (
        "Hello! I can book a table for you, or find or cancel a booking. How can I help?",
        "Namaste! Main table book kar sakti hoon, ya booking dhoondh ya cancel kar sakti hoon. "
        "Bataiye, kya madad karun?",
    ),
    "not_understood": (
        "Sorry, I didn't quite catch that. I can book a table, or find or cancel a booking. "
        "What would you like to do?",
        "Maaf kijiye, main samajh nahi payi. Main table book kar sakti hoon, ya booking dhoondh "
        "ya cancel kar sakti hoon. Aap kya chahenge?",
    ),
    "sorry_again": ("Sorry, I didn't catch that.", "Maaf kijiye, main samajh nahi payi."),
    "one_moment": ("One moment, please.", "Ek moment, please."),
    "offer_booking": ("Would you like to book a table?", "Kya aap table book karna chahenge?"),
    "unavailable_full": (
        "Sorry, we're fully booked for {party} on {date} at {time}.",
        "Maaf kijiye, {date} {time} {party} ke liye jagah nahi hai.",
    ),
    "unavailable_closed": (
        "Sorry, we don't seat guests at {time} on {date}.",
        "Maaf kijiye, {date} {time} hum table nahi dete.",
    ),
    "unavailable_closed_date": (
        "Sorry, we're closed on {date}.",
        "Maaf kijiye, {date} ko restaurant band hai.",
    ),
    "unavailable_too_soon": (
        "Sorry, {time} on {date} is too soon to book.",
        "Maaf kijiye, {date} {time} ki booking ke liye ab bahut kam samay hai.",
    ),
    "unavailable_in_past": (
        "Sorry, {time} on {date} has already passed.",
        "Maaf kijiye, {date} {time} ka samay nikal chuka hai.",
    ),
    "unavailable_beyond_horizon": (
        "Sorry, bookings for {date} aren't open yet.",
        "Maaf kijiye, {date} ki booking abhi shuru nahi hui hai.",
    ),
    "unavailable_off_slot": (
        "Sorry, {time} isn't one of our booking times.",
        "Maaf kijiye, {time} ki booking nahi hoti.",
    ),
    "unavailable": (
        "Sorry, {time} on {date} isn't available.",
        "Maaf kijiye, {date} {time} khaali nahi hai.",
    ),
    "alternatives": (
        "I could offer {options}. Would one of those work?",
        "Main {options} de sakti hoon. Kya inmein se koi chalega?",
    ),
    "alternative_one": (
        "I could offer {options}. Would that work?",
        "Main {options} de sakti hoon. Kya woh chalega?",
    ),
    "another_time": (
        "Would another day or time suit you?",
        "Kya koi aur din ya samay chalega?",
    ),
    "which_alternative": ("Which one would you like: {options}?", "Kaunsa chahiye: {options}?"),
    "too_large_transfer": (
        "I'm sorry, I can only book tables for up to {limit} people. For a bigger group I can "
        "put you through to our staff. Shall I do that?",
        "Maaf kijiye, main sirf {limit} logon tak ki booking kar sakti hoon. Bade group ke liye "
        "main aapko staff se jod sakti hoon. Jod doon?",
    ),
    "too_large": (
        "I'm sorry, I can only book tables for up to {limit} people. Would you like to book for "
        "{limit} or fewer?",
        "Maaf kijiye, main sirf {limit} logon tak ki booking kar sakti hoon. Kya {limit} ya kam "
        "logon ke liye book karun?",
    ),
    "too_small": (
        "I'm sorry, the smallest table we book is for {limit}. For how many people?",
        "Maaf kijiye, kam se kam {limit} logon ki booking hoti hai. Kitne logon ke liye?",
    ),
    "transferring": (
        "Sure, let me put you through to someone at the restaurant.",
        "Zaroor, main aapko restaurant ke staff se jodti hoon.",
    ),
    "no_transfer": (
        "I'm sorry, there's nobody I can put you through to right now, but I'm happy to help "
        "with bookings.",
        "Maaf kijiye, abhi kisi se baat nahi karwa sakti, lekin booking mein main madad kar "
        "sakti hoon.",
    ),
    "transfer_failed": (
        "I'm sorry, nobody can come to the phone right now.",
        "Maaf kijiye, abhi koi phone par nahi aa sakta.",
    ),
    "offer_transfer_confused": (
        "I'm sorry, I'm having trouble understanding. Shall I put you through to someone at "
        "the restaurant?",
        "Maaf kijiye, mujhe samajhne mein dikkat ho rahi hai. Kya main aapko staff se jod doon?",
    ),
    "who": (
        "You're speaking with the booking assistant of {business}.",
        "Main {business} ki booking sahayak hoon.",
    ),
    "who_persona": (
        "This is {persona} from {business}.",
        "Main {persona}, {business} se.",
    ),
    "hours": ("We're open {hours}.", "Hamare khulne ka samay: {hours}."),
    "no_hours": (
        "I'm sorry, I don't have our opening hours to hand.",
        "Maaf kijiye, mere paas abhi timings ki jaankari nahi hai.",
    ),
    "address": ("We're at {address}.", "Hamara pata hai: {address}."),
    "no_address": (
        "I'm sorry, I don't have the address to hand.",
        "Maaf kijiye, mere paas abhi pata nahi hai.",
    ),
    "farewell": (
        "Thank you for calling {business}. Goodbye!",
        "{business} ko call karne ke liye dhanyavaad. Namaste!",
    ),
    "ask_code": (
        "Sure. What's the booking code? You can spell it out.",
        "Zaroor. Booking code kya hai? Ek ek akshar boliye.",
    ),
    "code_again": (
        "Could you spell the booking code for me, one letter or digit at a time?",
        "Kripya booking code ek ek akshar karke boliye.",
    ),
    "need_code": (
        "I can't see the number you're calling from, so I'll need the booking code. What is it?",
        "Aapka number nahi dikh raha, isliye booking code chahiye. Code kya hai?",
    ),
    "not_found_code": (
        "I couldn't find a booking with the code {code}. Could you check it and say it again?",
        "Code {code} se koi booking nahi mili. Kripya code check karke phir se boliye.",
    ),
    "not_found_phone": (
        "I couldn't find an upcoming booking for the number you're calling from. Do you have "
        "the booking code?",
        "Aapke number par koi aane wali booking nahi mili. Kya aapke paas booking code hai?",
    ),
    "near_code": (
        "I have no booking with the code {heard}, but I do have one with the code {code}.",
        "Code {heard} se koi booking nahi mili, lekin code {code} wali ek booking hai.",
    ),
    "found_one": (
        "I found your booking: {booking}. The code is {code}.",
        "Aapki booking mil gayi: {booking}. Code hai {code}.",
    ),
    "found_cancelled": (
        "I found {booking}, but it has been cancelled.",
        "Booking mili: {booking}, lekin woh cancel ho chuki hai.",
    ),
    "found_many": ("I found {count} bookings: {bookings}.", "{count} bookings mili: {bookings}."),
    "which_booking": (
        "Which one should I cancel? You can say the first or the second.",
        "Kaunsi cancel karun? Pehli ya doosri boliye.",
    ),
    "confirm_cancel": (
        "I found {booking}. Shall I cancel it?",
        "Mujhe yeh booking mili: {booking}. Kya main ise cancel kar doon?",
    ),
    "kept": (
        "Okay, I've left your booking as it is.",
        "Theek hai, aapki booking waise hi rahegi.",
    ),
    "cancelled": (
        "Done. Your booking for {when} is cancelled.",
        "Ho gaya. {when} ki aapki booking cancel ho gayi hai.",
    ),
    "cancel_failed": (
        "I'm sorry, I couldn't cancel that booking.",
        "Maaf kijiye, woh booking cancel nahi ho payi.",
    ),
    "system_down": (
        "I'm sorry, I couldn't reach our booking system just now. Shall I try again?",
        "Maaf kijiye, booking system abhi jawab nahi de raha. Kya main dobara koshish karun?",
    ),
    "gave_up": (
        "I'm sorry about that. Please try again a little later.",
        "Maaf kijiye. Kripya thodi der baad dobara koshish kijiye.",
    ),
    "details_again": (
        "Sorry, something was wrong with those details. Which day and time, and for how many?",
        "Maaf kijiye, details mein kuch gadbad hui. Kis din, kitne baje, aur kitne logon ke liye?",
    ),
}


def phrase(key: str, language: str, **values: object) -> str:
    """The line ``key`` in ``language`` (``"hi"`` or English), with ``values`` filled in."""
    english, hindi = PHRASES[key]
    return (hindi if language == "hi" else english).format(**values)


def spoken_time(moment: dt.time, language: str) -> str:
    """``7:30 pm``, ``12 noon``; in Hindi ``shaam 7:30 baje``."""
    hour, minute = moment.hour, moment.minute
    if language == "hi":
        period = (
            "subah"
            if 4 <= hour < 12
            else "dopahar"
            if 12 <= hour < 16
            else "shaam"
            if 16 <= hour < 20
            else "raat"
        )
        twelve = hour % 12 or 12
        return f"{period} {twelve}{f':{minute:02d}' if minute else ''} baje"
    if hour == 12 and minute == 0:
        return "12 noon"
    if hour == 0 and minute == 0:
        return "midnight"
    twelve = hour % 12 or 12
    suffix = "am" if hour < 12 else "pm"
    return f"{twelve}{f':{minute:02d}' if minute else ''} {suffix}"


def spoken_date(day: dt.date, language: str) -> str:
    """``Friday 5 December``; in Hindi ``shukravaar, 5 December``."""
    if language == "hi":
        return f"{HINDI_WEEKDAYS[day.weekday()]}, {day.day} {MONTHS[day.month - 1]}"
    return f"{ENGLISH_WEEKDAYS[day.weekday()]} {day.day} {MONTHS[day.month - 1]}"


def spoken_weekday(day: dt.date, today: dt.date, language: str) -> str:
    """``Friday`` within the coming week, else the full date; ``today`` and ``tomorrow``."""
    if day == today:
        return "aaj" if language == "hi" else "today"
    if day == today + dt.timedelta(days=1):
        return "kal" if language == "hi" else "tomorrow"
    if 0 < (day - today).days < 7:
        names = HINDI_WEEKDAYS if language == "hi" else ENGLISH_WEEKDAYS
        return names[day.weekday()]
    return spoken_date(day, language)


def spoken_party(size: int, language: str) -> str:
    """``a table for 4``; in Hindi ``4 logon ke liye table``."""
    if language == "hi":
        return f"{size} {'vyakti' if size == 1 else 'logon'} ke liye table"
    return f"a table for {size}"


def spoken_people(size: int, language: str) -> str:
    """``4 people``; in Hindi ``4 logon``."""
    if language == "hi":
        return f"{size} {'vyakti' if size == 1 else 'logon'}"
    return f"{size} {'person' if size == 1 else 'people'}"


def spoken_slot(size: int, day: dt.date, moment: dt.time, language: str) -> str:
    """``a table for 4 on Friday 5 December at 7:30 pm``, or the Hindi equivalent."""
    if language == "hi":
        when = f"{spoken_date(day, language)}, {spoken_time(moment, language)}"
        return f"{when}, {spoken_party(size, language)}"
    when = f"on {spoken_date(day, language)} at {spoken_time(moment, language)}"
    return f"{spoken_party(size, language)} {when}"


def spoken_option(day: dt.date, moment: dt.time, today: dt.date, language: str) -> str:
    """An alternative slot: ``8 pm on Friday``; in Hindi ``shukravaar shaam 8 baje``."""
    weekday = spoken_weekday(day, today, language)
    if language == "hi":
        return f"{weekday} {spoken_time(moment, language)}"
    joiner = " " if weekday in {"today", "tomorrow"} else " on "
    return f"{spoken_time(moment, language)}{joiner}{weekday}"


def spoken_code(code: str) -> str:
    """A booking code spelled out for the phone: ``K, 7, Q, D``."""
    return ", ".join(code.replace(" ", "").upper())


def spoken_list(items: Sequence[str], language: str) -> str:
    """``a, b or c``; in Hindi ``a, b ya c``."""
    if len(items) <= 1:
        return "".join(items)
    last = " ya " if language == "hi" else " or "
    return ", ".join(items[:-1]) + last + items[-1]
