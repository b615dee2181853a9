from bot.config import BusinessRegistry, Settings
from bot.prompt import Caller
from bot.services import stt_service
from processors.local_stt import PocketsphinxSTTService
from tests.bot.test_cli import ROOT


def local_settings() -> Settings:
    return Settings(_env_file=None, bots_path=ROOT / "bots.yaml", deepgram_api_key=None)


def test_without_a_key_calls_are_heard_by_the_local_recogniser_knowing_the_business():
    business = next(iter(BusinessRegistry(ROOT / "bots.yaml").current))
    stt = stt_service(business, local_settings())
    assert isinstance(stt, PocketsphinxSTTService)
    assert business.name in stt._business_phrases
    assert stt._extra_names == ()


def test_the_local_recogniser_also_knows_a_returning_caller_s_name():
    business = next(iter(BusinessRegistry(ROOT / "bots.yaml").current))
    stt = stt_service(business, local_settings(), Caller(name="Zoravar Sandhu"))
    assert isinstance(stt, PocketsphinxSTTService)
    assert stt._extra_names == ("Zoravar", "Sandhu")
