"""A caller asks for a person: the bot transfers the call through Plivo and lets go of it."""

import asyncio
import xml.etree.ElementTree as ET
from typing import Any

from api.keys import SETTINGS
from bot.simulated_caller.webhooks import answer_params, now_utc
from store.models import CallOutcome
from tests.e2e.test_phone_call import finished_record
from tests.fakes.groq_script import Reply

STAFF_DIGITS = "919811045213"  # Himalayan Kitchen's staff_number in bots.yaml


def ask_for_a_person(body: dict[str, Any]) -> Reply:
    if body["messages"][-1]["role"] == "tool":  # not expected: the transfer ends the bot's part
        return Reply("Connecting you now.")
    return Reply.call("transfer_to_staff", text="Of course, one moment please.")


async def test_transfer_to_staff_hands_the_call_to_plivo_without_hanging_up(phone):
    line = await phone(["I want to speak to the manager"], ask_for_a_person)
    async with line.caller() as caller:
        await caller.start()
        async with asyncio.timeout(10):
            await caller.wait_for_bot_audio()  # the greeting
        await caller.wait_until_bot_quiet()
        turn = await caller.say_utterance("hello")
        async with asyncio.timeout(15):
            await caller.wait_for_reply(turn)
            await caller.wait_closed()  # the bot's part is over: its stream closes
        record = await finished_record(line.database, caller.call_uuid)

        # Plivo fetches the new XML for the caller's leg, signed like every webhook.
        path = f"/plivo/transfer/{caller.call_uuid}"
        fetched = await caller.post_webhook(path, answer_params(caller.call, now_utc()))

    # The transfer went to Plivo's API for this call: the caller's leg, to our transfer XML.
    public = line.app[SETTINGS].public_base_url
    assert [uuid for uuid, _ in line.plivo.transfers] == [caller.call_uuid]
    body = line.plivo.transfers[0][1]
    assert body["legs"] == "aleg"
    assert body["aleg_url"] == f"{public}{path}"
    assert all(r.authorised for r in line.plivo.requests)

    # The call was let go, not hung up: no DELETE, and the caller did not hang up either.
    assert line.plivo.hangups(caller.call_uuid) == []
    assert caller.hung_up_at is None and caller.server_closed_at is not None
    assert "one moment" in " ".join(line.tts.texts)  # what the LLM said with the tool call
    assert "Connecting you now." not in line.tts.texts  # nothing after it
    assert len(line.llm.requests) == 1
    assert "transfer_to_staff" in line.llm.requests[0].tool_names

    assert record.outcome is CallOutcome.TRANSFERRED
    assert [c["name"] for c in record.tool_calls] == ["transfer_to_staff"]

    # The XML Plivo gets: a notice, then the staff number dialled.
    assert fetched.status == 200
    root = ET.fromstring(fetched.body)
    assert [child.tag for child in root] == ["Speak", "Dial"]
    assert root[0].text == "Connecting you to the restaurant."
    assert [n.text for n in root[1]] == [STAFF_DIGITS]
