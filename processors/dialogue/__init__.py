"""A deterministic dialogue engine that stands in for the LLM when no Groq key is set.

``understand`` reads one utterance, ``DialogueManager`` decides what to say and which tool to
call, and ``DialogueLLMService`` runs it inside a pipecat pipeline where the LLM would be.
"""

from processors.dialogue.facts import DialogueFacts
from processors.dialogue.hours import spoken_hours
from processors.dialogue.manager import Action, CallTool, DialogueManager, Say, Stage
from processors.dialogue.service import DialogueLLMService
from processors.dialogue.understand import Intent, Utterance, understand

__all__ = [
    "Action",
    "CallTool",
    "DialogueFacts",
    "DialogueLLMService",
    "DialogueManager",
    "Intent",
    "Say",
    "Stage",
    "Utterance",
    "spoken_hours",
    "understand",
]
