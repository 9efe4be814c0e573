"""The projections' decoder of stored events: what the library's `Mapper.to_domain_event`
gives, for less CPU (a rebuild decodes every event of the log; docs/performance.md, "`rebuild`").

The library's JSON object hook is a method that looks every transcoded value up by name, and
its `uuid_hex` decoding parses the hex anew for every id although a log names the same few ids
over and over (a project's, its deliverables'). Here the hook is one closure over the
transcoder's own decodings, ids are made once per process (up to `IDS_KEPT`, then forgotten)
and shared by the events naming them, and an event class, its id convertor and its version are
looked up once per topic. Events stored with a cipher or compression, or by another transcoder,
go through the library's mapper unchanged.
"""

from __future__ import annotations

import json
import json.scanner
import weakref
from collections.abc import Callable
from typing import Any
from uuid import UUID

from eventsourcing.persistence import (
    JSONTranscoder,
    Mapper,
    MapperDeserialisationError,
    StoredEvent,
    TranscodingNotRegisteredError,
    UUIDAsHex,
    find_id_convertor,
)
from eventsourcing.utils import resolve_topic

# Ids kept for reuse (~200 bytes each); beyond this many the table starts again: a rebuild's
# memory stays flat, and ids repeat within a project's recent events.
IDS_KEPT = 50_000

Decode = Callable[[StoredEvent], Any]

_decoders: weakref.WeakKeyDictionary[Mapper[Any], Decode] = weakref.WeakKeyDictionary()


def decoder_of(mapper: Mapper[Any]) -> Decode:
    """The decoder for `mapper`'s stored events (made once per mapper)."""
    decode = _decoders.get(mapper)
    if decode is None:
        transcoder = mapper.transcoder
        plain = mapper.cipher is None and mapper.compressor is None
        if plain and type(transcoder) is JSONTranscoder:
            decode = _Decoder(transcoder)
        else:
            decode = mapper.to_domain_event
        _decoders[mapper] = decode
    return decode


class _Decoder:
    def __init__(self, transcoder: JSONTranscoder) -> None:
        ids: dict[str, UUID] = {}

        def uuid_of(data: str) -> UUID:
            found = ids.get(data)
            if found is None:
                assert isinstance(data, str)
                found = UUID(data)
                if len(ids) >= IDS_KEPT:
                    ids.clear()
                ids[data] = found
            return found

        decodings: dict[str, Callable[[Any], Any]] = {
            name: uuid_of if type(transcoding) is UUIDAsHex else transcoding.decode
            for name, transcoding in transcoder.names.items()
        }

        def hook(d: dict[str, Any]) -> Any:
            # The library's `JSONTranscoder._decode_obj`, with the same outcome for every dict.
            if len(d) == 2 and "_type_" in d and "_data_" in d:
                name = d["_type_"]
                try:
                    decoding = decodings[name]
                except KeyError as e:
                    msg = (
                        f"Data serialized with name '{name}' is not deserializable. Please "
                        "register a custom transcoding for this type."
                    )
                    raise TranscodingNotRegisteredError(msg) from e
                return decoding(d["_data_"])
            return d

        self._json = json.JSONDecoder(object_hook=hook)
        # What `JSONDecoder.raw_decode` calls (the C scanner), without its Python wrapping.
        scanner: Any = json.scanner  # typeshed describes make_scanner as a class of itself
        self._scan: Callable[[str, int], tuple[Any, int]] = scanner.make_scanner(self._json)
        # (topic, type of originator id) → event class, id convertor, class version.
        self._classes: dict[tuple[str, type], tuple[type, Callable[[Any], Any], int]] = {}

    def _state(self, data: bytes) -> dict[str, Any]:
        text = data.decode("utf8")
        if text[:1] == "{":
            try:
                state, end = self._scan(text, 0)
            except StopIteration:
                state, end = None, -1
            if end == len(text):
                assert isinstance(state, dict)
                return state
        # Anything but a bare object: the decoder's own checks and messages.
        decoded: dict[str, Any] = self._json.decode(text)
        return decoded

    def _class(self, topic: str, id_type: type) -> tuple[type, Callable[[Any], Any], int]:
        cls = resolve_topic(topic)
        found = (cls, find_id_convertor(cls, id_type), getattr(cls, "class_version", 1))
        self._classes[(topic, id_type)] = found
        return found

    def __call__(self, stored: StoredEvent) -> Any:
        """`Mapper.to_domain_event(stored)` of a mapper without cipher or compressor."""
        key = (stored.topic, type(stored.originator_id))
        cls, id_convertor, class_version = self._classes.get(key) or self._class(*key)
        try:
            state = self._state(stored.state)
        except Exception as e:
            msg = (
                f"Failed to deserialise state of stored event with "
                f"topic '{stored.topic}', "
                f"originator_id '{stored.originator_id}' and "
                f"originator_version {stored.originator_version}: {e}"
            )
            raise MapperDeserialisationError(msg) from e
        state["originator_id"] = id_convertor(stored.originator_id)
        state["originator_version"] = stored.originator_version
        from_version = state.pop("class_version", 1)
        while from_version < class_version:
            getattr(cls, f"upcast_v{from_version}_v{from_version + 1}")(state)
            from_version += 1
        event: Any = object.__new__(cls)
        object.__setattr__(event, "__dict__", state)
        return event
