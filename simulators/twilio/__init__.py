"""A Twilio stand-in speaking HTTP, checked against Twilio's own OpenAPI description.

`twilio_api_v2010.json` is Twilio's description of its REST API v2010, taken unchanged
from twilio/twilio-oai (MIT, see `LICENSE`), so the checks run without the internet.
"""
