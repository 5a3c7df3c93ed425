"""Top-level custom sections of a WebAssembly component: reading the declared code digest and
appending it."""

COMPONENT_PREAMBLE = b"\x00asm\x0d\x00\x01\x00"
DIGEST_SECTION = "jug-code-digest"
# `{"function": "sha256:…"}`: the identity of each task function (see `digest.function_digests`).
FUNCTIONS_SECTION = "jug-function-digests"


def leb128(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _read_leb128(data, pos):
    result = shift = 0
    while True:
        if pos >= len(data) or shift > 35:
            raise ValueError("truncated or overlong LEB128")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return result, pos


def custom_section(name, payload):
    """A custom section (id 0): LEB128 size, LEB128 name length, name, payload."""
    name = name.encode()
    content = leb128(len(name)) + name + payload
    return b"\x00" + leb128(len(content)) + content


def declared_digest(path):
    """The payload of the component's top-level `jug-code-digest` section; None if the file
    is missing, not a component or has no such section."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return None
    if data[:8] != COMPONENT_PREAMBLE:
        return None
    pos = 8
    found = None
    try:
        while pos < len(data):
            section_id = data[pos]
            size, pos = _read_leb128(data, pos + 1)
            end = pos + size
            if end > len(data):
                return None
            if section_id == 0:
                name_length, at = _read_leb128(data, pos)
                if data[at : at + name_length] == DIGEST_SECTION.encode():
                    found = data[at + name_length : end]
            pos = end
    except ValueError:
        return None
    return found
