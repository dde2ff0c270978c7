"""The phone's web page (handset, lists, settings, admin) served beside the JSON API."""
