"""Character sheet importers: native TOML, markdown sheets and Character Card V2 JSON.

Also the campaign file loader and the shipped sample campaigns.
"""

from dramatis.sheets.campaign_loader import (
    LoadedCampaign,
    LoadedPersona,
    SampleInfo,
    find_sample,
    list_samples,
    load_campaign_file,
    parse_campaign_text,
    resolve_campaign,
)
from dramatis.sheets.common import LoadedSheet, infer_weights, parse_weight
from dramatis.sheets.loader import load_sheet

__all__ = [
    "LoadedCampaign",
    "LoadedPersona",
    "LoadedSheet",
    "SampleInfo",
    "find_sample",
    "infer_weights",
    "list_samples",
    "load_campaign_file",
    "load_sheet",
    "parse_campaign_text",
    "parse_weight",
    "resolve_campaign",
]
