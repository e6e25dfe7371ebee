"""Message definitions: which topics carry images, and which other types hide one.

Only image messages are ever deserialized; everything else is copied as bytes. That is safe
only if no other message embeds an image (stereo_msgs/DisparityImage, a custom detection
message with a crop, ...) or carries encoded pictures or video of its own (foxglove
CompressedVideo, ffmpeg/theora/h264 image_transport packets, foxglove RawImage/CompressedImage,
a home-made Image or CompressedImage): such a message would carry pixels past the anonymizer.
So every definition in the bag is read, and a type that contains an image or encoded media, or a
definition that cannot be read at all, stops the run. Encoded media are known by name
(`ENCODED_MEDIA_TYPES`) or by shape: a byte array (`uint8[] data`, ...) beside a string that
names its format or encoding (`string format`, `string encoding`, ...). Bags recorded before
definitions were stored (rosbag2 metadata v4-6 on sqlite3) fall back to rosbags' bundled types
(and the known names); types unknown there too are reported as unchecked.

rosbags' AnyReader (see `source`) also parses every stored definition, into one typestore for
the bag, which the image codecs use. It cannot do this check: it gives up on the whole bag at the
first definition it cannot parse (the .srv text rosbag2 stores for a service event topic, or a
broken one) without naming the topic, and it ignores the bundled types as soon as any definition
is stored (docs/rosbags-anyreader-definitions.md). So each connection's definition is parsed here
on its own, and what cannot be read names its topic, which --exclude-topics can then leave out.
"""

from __future__ import annotations

from dataclasses import dataclass

from rosbags.interfaces import Connection, MessageDefinitionFormat, Nodetype
from rosbags.typesys import Stores, get_types_from_idl, get_types_from_msg, get_typestore
from rosbags.typesys.msg import normalize_msgtype
from rosbags.typesys.store import Typestore

from .errors import BagError

# rosbags names ROS 1 types the ROS 2 way (sensor_msgs/Image -> sensor_msgs/msg/Image).
RAW_IMAGE = "sensor_msgs/msg/Image"
COMPRESSED_IMAGE = "sensor_msgs/msg/CompressedImage"
IMAGE_TYPES = (RAW_IMAGE, COMPRESSED_IMAGE)

# Types that carry pictures or video the sanitizer cannot decode, so cannot anonymize.
ENCODED_MEDIA_TYPES = {
    "foxglove_msgs/msg/CompressedVideo": "H.264/H.265/VP9/AV1 video",
    "foxglove_msgs/msg/CompressedImage": "compressed images",
    "foxglove_msgs/msg/RawImage": "raw images",
    "ffmpeg_image_transport_msgs/msg/FFMPEGPacket": "ffmpeg_image_transport video packets",
    "theora_image_transport/msg/Packet": "theora_image_transport video packets",
    "h264_msgs/msg/Packet": "h264_image_transport video packets",
}
# By shape: bytes beside a string that says how to read them.
_MEDIA_BYTES = {"data", "payload", "bytes", "buffer", "image", "frame", "packet"}
_MEDIA_FORMAT = {"format", "encoding", "codec", "mime_type", "mimetype", "content_type"}
_BYTE_TYPES = {"uint8", "byte", "char", "octet"}

_IDL_SEPARATOR = "=" * 80 + "\n"

Typesdict = dict  # name -> (constants, fields), as rosbags' typesys returns


@dataclass(frozen=True)
class TypeCheck:
    """What the definitions say about one connection's type."""

    msgtype: str
    source: str  # bag (the recording's own definition) | bundled (rosbags' types) | none
    embedded_images: tuple[str, ...] = ()  # image types reachable from a non-image type
    # Encoded media the type is or contains, "type (why)": known by name or by shape.
    encoded_media: tuple[str, ...] = ()


def canonical(msgtype: str) -> str:
    """pkg/msg/Name, the form rosbags files definitions under (early ROS 2 bags say pkg/Name)."""
    return normalize_msgtype(msgtype)


def is_image(msgtype: str) -> bool:
    return canonical(msgtype) in IMAGE_TYPES


def default_typestore(ros1: bool) -> Typestore:
    """rosbags' bundled types for bags that carry no definitions (Image has not changed since
    ROS 2 Foxy; ROS 1's Header differs, with a seq field)."""
    return get_typestore(Stores.ROS1_NOETIC if ros1 else Stores.LATEST)


def has_definition(conn: Connection) -> bool:
    return conn.msgdef.format != MessageDefinitionFormat.NONE and bool(conn.msgdef.data.strip())


def parse_definition(conn: Connection) -> Typesdict:
    """The types declared by the connection's stored definition (the type and its dependencies)."""
    data = conn.msgdef.data
    try:
        if conn.msgdef.format == MessageDefinitionFormat.IDL:
            typs: Typesdict = {}
            blocks = data.split(_IDL_SEPARATOR)[1:] if data.startswith(_IDL_SEPARATOR + "IDL: ") else [data]
            for block in blocks:
                typs.update(get_types_from_idl(block.split("\n", 1)[1] if block.startswith("IDL: ") else block))
            return typs
        try:
            return get_types_from_msg(data, conn.msgtype)
        except Exception:
            if "/srv/" not in conn.msgtype and "/action/" not in conn.msgtype:
                raise
            return _parse_service_definition(data, conn.msgtype)
    except Exception as e:  # noqa: BLE001 - rosbags' parser raises several types
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise BagError(
            f"cannot read the message definition of topic {conn.topic} ({conn.msgtype}): {first}. "
            "The sanitizer must read every definition to be sure no image is nested inside another message; "
            "remove the topic first (e.g. `rosbags-convert --exclude-topic`) if it is not needed"
        ) from e


def _parse_service_definition(data: str, msgtype: str) -> Typesdict:
    """rosbag2 stores a service event topic's definition as the .srv text (request `---`
    response), which rosbags' .msg parser rejects. Each part is parsed as a message of its own:
    enough to see whether an image hides in a request or a response."""
    main, sep, deps = data.partition("\n" + "=" * 80 + "\n")
    typs: Typesdict = {}
    parts = _split_lines(main, "---")
    # Named as messages (pkg/msg/Name): rosbags rewrites any other form that way anyway.
    names = [f"{msgtype.split('/')[0]}/msg/{msgtype.rsplit('/', 1)[-1]}_part{i}" for i in range(len(parts))]
    for part, name in zip(parts, names, strict=True):
        typs.update(get_types_from_msg(part + (sep + deps if sep else ""), name))
    # The event type itself: a field per part, so the reachability walk sees them.
    typs[msgtype] = ([], [(f"part{i}", (Nodetype.NAME, name)) for i, name in enumerate(names)])
    return typs


def _split_lines(text: str, separator: str) -> list[str]:
    parts, current = [], []
    for line in text.splitlines():
        if line.strip() == separator:
            parts.append("\n".join(current))
            current = []
        else:
            current.append(line)
    parts.append("\n".join(current))
    return parts


def check_type(conn: Connection, bundled: Typestore) -> TypeCheck:
    """Where the connection's type is defined and which image types it (transitively) contains."""
    if has_definition(conn):
        typs, source = parse_definition(conn), "bag"
    elif conn.msgtype in bundled.fielddefs:
        typs, source = bundled.fielddefs, "bundled"
    else:
        name = canonical(conn.msgtype)
        known = (f"{name} ({ENCODED_MEDIA_TYPES[name]})",) if name in ENCODED_MEDIA_TYPES and not is_image(name) else ()
        return TypeCheck(conn.msgtype, "none", encoded_media=known)
    if is_image(conn.msgtype):
        return TypeCheck(conn.msgtype, source)
    # rosbags files a definition under pkg/msg/Name, whatever the bag calls the type (pkg/Name).
    root = conn.msgtype if conn.msgtype in typs else canonical(conn.msgtype)
    found, undefined, media = _reachable_images(root, typs, bundled.fielddefs)
    if undefined:
        raise BagError(
            f"cannot read the message definition of topic {conn.topic} ({conn.msgtype}): it refers to "
            f"{', '.join(sorted(undefined))}, which it does not define. The sanitizer must read every definition "
            "to be sure no image is nested inside another message; remove the topic first "
            "(e.g. `rosbags-convert --exclude-topic`) if it is not needed"
        )
    return TypeCheck(conn.msgtype, source, tuple(sorted(found)), tuple(sorted(media)))


def is_media_shape(fields) -> str | None:
    """Why a type's fields look like encoded media (a byte array beside a string naming its
    format or encoding), None when they do not."""
    byte_fields = [n for n, d in fields if n.lower() in _MEDIA_BYTES and _is_byte_array(d)]
    format_fields = [n for n, d in fields if n.lower() in _MEDIA_FORMAT and _is_string(d)]
    if byte_fields and format_fields:
        return f"bytes '{byte_fields[0]}' with a '{format_fields[0]}' string"
    return None


def _is_byte_array(desc) -> bool:
    kind, arg = desc
    if kind not in (Nodetype.ARRAY, Nodetype.SEQUENCE):
        return False
    inner_kind, inner = arg[0]
    return inner_kind == Nodetype.BASE and inner[0] in _BYTE_TYPES


def _is_string(desc) -> bool:
    kind, arg = desc
    return kind == Nodetype.BASE and arg[0] in ("string", "wstring")


def _reachable_images(root: str, typs: Typesdict, fallback: Typesdict) -> tuple[set[str], set[str], set[str]]:
    """(image types reachable from `root`, referenced types defined nowhere, encoded media that
    `root` is or contains as "type (why)"). A type missing from the bag's definition is looked up
    in `fallback` (rosbags' bundled types)."""
    found, undefined, media, seen, stack = set(), set(), set(), {root}, [root]
    while stack:
        name = stack.pop()
        entry = typs.get(name) or fallback.get(name)
        known = ENCODED_MEDIA_TYPES.get(canonical(name)) if not is_image(name) else None
        shape = is_media_shape(entry[1]) if entry is not None and not is_image(name) else None
        if known or shape:
            media.add(f"{name} ({known or shape})")
        if entry is None:
            undefined.add(name)
            continue
        for _, desc in entry[1]:
            name = _type_name(desc)
            if name is None or name in seen:
                continue
            seen.add(name)
            if name in IMAGE_TYPES:
                found.add(name)
            else:
                stack.append(name)
    return found, undefined, media


def _type_name(desc) -> str | None:
    """The message type a field refers to (through arrays and sequences), None for base types."""
    kind, arg = desc
    if kind == Nodetype.NAME:
        return arg
    if kind in (Nodetype.ARRAY, Nodetype.SEQUENCE):
        return _type_name(arg[0])
    return None


def image_typestore(conn: Connection, bundled: Typestore, bag: Typestore | None = None) -> Typestore:
    """A typestore to (de)serialize this image connection: the recording's own definition when
    it carries one (exactly what was recorded), else the bundled types. `bag`: the bag's own
    typestore as rosbags' AnyReader built it (`BagSource.typestore`), used when it holds the type;
    without it (AnyReader could not parse some other definition) the connection's own definition
    is registered here."""
    if not has_definition(conn):
        return bundled
    if bag is not None and canonical(conn.msgtype) in bag.types:
        return bag
    store = get_typestore(Stores.EMPTY)
    store.register(parse_definition(conn))
    if canonical(conn.msgtype) not in store.types:
        raise BagError(f"the stored definition of topic {conn.topic} does not define {conn.msgtype}")
    return store
