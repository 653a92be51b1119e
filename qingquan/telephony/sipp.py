"""SIPp callers for the real-SIP test and the bench: a scenario that calls the IVR, presses
keys as RFC 2833 events (the DTMF captures shipped with Debian's `sip-tester`), follows the
IVR's REFER to the agent's endpoint, talks and hangs up."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

PCAPS = Path("/usr/share/sip-tester")
NAMES = {"#": "pound", "*": "star"}

_HEAD = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="qingquan IVR caller">
"""

_SDP = """v=0
o=caller 53655765 2353687637 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 0 8 101
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=sendrecv"""


def available() -> bool:
    return bool(shutil.which("sipp")) and (PCAPS / "dtmf_2833_1.pcap").exists()


def _invite(uri: str, to: str, tag: str, cseq: int, caller: str) -> str:
    return f"""  <send retrans="500"><![CDATA[
INVITE {uri} SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: "{caller}" <sip:{caller}@[local_ip]:[local_port]>;tag={tag}
To: <{to}>
Call-ID: [call_id]
CSeq: {cseq} INVITE
Contact: <sip:{caller}@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: [len]

{_SDP}
]]></send>
"""


def _in_dialog(method: str, uri: str, to: str, tag: str, cseq: int, caller: str) -> str:
    retrans = "" if method == "ACK" else ' retrans="500"'
    return f"""  <send{retrans}><![CDATA[
{method} {uri} SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: "{caller}" <sip:{caller}@[local_ip]:[local_port]>;tag={tag}
To: <{to}>;tag=[${method[:0]}peer]
Call-ID: [call_id]
CSeq: {cseq} {method}
Contact: <sip:{caller}@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Length: 0
]]></send>
"""


def _answered(var: str) -> str:
    return f"""  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200" rtd="true">
    <action><ereg regexp=";tag=([^;&gt; ]*)" search_in="hdr" header="To:"
      assign_to="junk_{var},{var}"/></action>
  </recv>
"""


EVENTS = {**{str(d): d for d in range(10)}, "*": 10, "#": 11}


def dtmf_pcap(keys: str, path: Path, *, gap_ms: int = 500) -> int:
    """Write one capture of RFC 2833 events for `keys` ("," = a pause of 4 gaps) with
    sequence numbers and timestamps that keep rising (the captures shipped with SIPp each
    start at the same sequence number, so a receiver drops all but the first). Returns
    its length in ms. The Ethernet/IP/UDP headers are taken from SIPp's own capture."""
    template = (PCAPS / "dtmf_2833_1.pcap").read_bytes()
    head = template[:24]
    headers = template[24 + 16 : 24 + 16 + 42]  # Ethernet, IPv4, UDP of its first packet
    out = bytearray(head)
    seq, at_ms = 1000, 0
    for key in keys:
        if key == ",":
            at_ms += gap_ms * 4
            continue
        event = EVENTS[key]
        stamp = 8000 + at_ms * 8  # 8 kHz clock
        for n in range(10):
            end = n >= 7
            duration = min(n + 1, 8) * 160
            payload = struct.pack("!BBH", event, (0x80 if end else 0) | 10, duration)
            marker = 0x80 if n == 0 else 0
            rtp = struct.pack("!BBHII", 0x80, marker | 101, seq, stamp, 0x51A7C0DE) + payload
            if not (end and n > 7):
                seq += 1
            when = at_ms + min(n, 7) * 20
            packet = headers + rtp
            out += struct.pack(
                "<IIII", when // 1000, (when % 1000) * 1000, len(packet), len(packet)
            )
            out += packet
        at_ms += gap_ms
    path.write_bytes(bytes(out))
    return at_ms


def _keys(keys: str, gap_ms: int, workdir: Path) -> str:
    workdir.mkdir(parents=True, exist_ok=True)
    pcap = workdir / "keys.pcap"
    length = dtmf_pcap(keys, pcap, gap_ms=gap_ms)
    return (
        f'  <nop><action><exec play_pcap_audio="{pcap}"/></action></nop>\n'
        f'  <pause milliseconds="{length + 300}"/>\n'
    )


def scenario(
    *,
    keys: str,
    caller: str = "13800005678",
    to_agent: bool = True,
    talk_ms: int = 3000,
    first_pause_ms: int = 1500,
    gap_ms: int = 500,
    workdir: Path,
) -> str:
    """The caller's scenario: `keys` pressed after the answer ("," = a longer pause);
    with `to_agent`, the IVR's REFER is followed to the agent, who is talked to for
    `talk_ms`; otherwise the caller hangs up after the keys."""
    ivr = "sip:ivr@[remote_ip]:[remote_port]"
    parts = [_HEAD, _invite(ivr, ivr, "[pid]SIPpTagA[call_number]", 1, caller)]
    parts.append(_answered("ivrtag"))
    parts.append(_in_dialog("ACK", ivr, ivr, "[pid]SIPpTagA[call_number]", 1, caller))
    parts.append(f'  <pause milliseconds="{first_pause_ms}"/>\n')
    parts.append(_keys(keys, gap_ms, workdir))
    if not to_agent:
        parts.append(_in_dialog("BYE", ivr, ivr, "[pid]SIPpTagA[call_number]", 2, caller))
        parts.append('  <recv response="200" crlf="true"/>\n')
        parts.append('  <Reference variables="junk_ivrtag"/>\n</scenario>\n')
        return _fix_tags("".join(parts))
    parts.append(
        f"""  <recv request="REFER" timeout="60000">
    <action><ereg regexp="sip:([^@&gt;]+)@([0-9.]+):([0-9]+)" search_in="hdr"
      header="Refer-To:" check_it="true" assign_to="junk_r,ruser,rhost,rport"/></action>
  </recv>
  <send><![CDATA[
SIP/2.0 202 Accepted
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:{caller}@[local_ip]:[local_port]>
Content-Length: 0
]]></send>
"""
    )
    parts.append(_in_dialog("BYE", ivr, ivr, "[pid]SIPpTagA[call_number]", 2, caller))
    parts.append('  <recv response="200" crlf="true"/>\n')
    # baresip ends its REFER subscription (SUBSCRIBE, Expires: 0) once its leg has closed.
    parts.append(
        """  <recv request="SUBSCRIBE" timeout="1500" ontimeout="1"/>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Expires: 0
Content-Length: 0
]]></send>
  <label id="1"/>
"""
    )
    parts.append(
        '  <nop><action><setdest host="[$rhost]" port="[$rport]" protocol="udp"/></action></nop>\n'
    )
    agent = "sip:[$ruser]@[$rhost]:[$rport]"
    parts.append(_invite(agent, agent, "[pid]SIPpTagB[call_number]", 3, caller))
    parts.append(_answered("agenttag"))
    parts.append(_in_dialog("ACK", agent, agent, "[pid]SIPpTagB[call_number]", 3, caller))
    parts.append(
        f'  <nop><action><exec play_pcap_audio="{PCAPS / "g711a.pcap"}"/></action></nop>\n'
        f'  <pause milliseconds="{talk_ms}"/>\n'
    )
    parts.append(_in_dialog("BYE", agent, agent, "[pid]SIPpTagB[call_number]", 4, caller))
    parts.append('  <recv response="200" crlf="true"/>\n')
    parts.append('  <Reference variables="junk_ivrtag,junk_r,junk_agenttag"/>\n</scenario>\n')
    return _fix_tags("".join(parts))


def _fix_tags(text: str) -> str:
    # The first dialog's BYE/ACK carry the IVR's tag, the second's the agent's.
    first, _sep, second = text.partition("setdest")
    first = first.replace("[$peer]", "[$ivrtag]")
    second = second.replace("[$peer]", "[$agenttag]")
    return first + (_sep + second if _sep else "")


def command(
    *,
    target: str,
    scenario: Path,
    sip_port: int,
    media_port: int,
    calls: int = 1,
    rate: float = 1.0,
    concurrent: int = 1,
    timeout: float = 110,
) -> list[str]:
    """The SIPp command line for `scenario` against `target` (host:port) on loopback."""
    return [
        "sipp",
        target,
        "-sf",
        str(scenario),
        "-m",
        str(calls),
        "-r",
        str(rate),
        "-l",
        str(concurrent),
        "-i",
        "127.0.0.1",
        "-p",
        str(sip_port),
        "-mi",
        "127.0.0.1",
        "-mp",
        str(media_port),
        "-trace_err",
        "-trace_msg",
        "-timeout",
        f"{int(timeout)}s",
        "-timeout_error",
        "-nostdin",
    ]


def run(
    *,
    target: str,
    scenario_text: str,
    workdir: Path,
    sip_port: int,
    media_port: int,
    calls: int = 1,
    rate: float = 1.0,
    concurrent: int = 1,
    timeout: float = 110,
) -> subprocess.CompletedProcess[str]:
    """Run SIPp with `scenario_text` against `target` (host:port); returns the process
    (exit code 0 when every call succeeded)."""
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "caller.xml"
    path.write_text(scenario_text)
    args = command(
        target=target,
        scenario=path,
        sip_port=sip_port,
        media_port=media_port,
        calls=calls,
        rate=rate,
        concurrent=concurrent,
        timeout=timeout,
    )
    return subprocess.run(
        args, cwd=workdir, capture_output=True, text=True, timeout=timeout + 10, check=False
    )
