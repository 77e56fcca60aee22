# Contributors (alphabetical):
#   Person 0 <jjdvsm.deqeeo@ifdwlda.net>
#   Person 1 <uag.iflnonn@kojijehn.io>
#   Person 2 <ladicpjp.dohpsv@gwxi.io>
#   Person 3 <fzcisf.kyrkkrz@sasoi.com>

import socket

KNOWN_PEERS = {
    "peer0": ("26.208.100.175", 7000 + 0),
    "peer1": ("52.133.251.242", 7000 + 1),
    "peer2": ("20.89.252.174", 7000 + 2),
    "peer3": ("200.218.192.197", 7000 + 3),
    "peer4": ("152.62.59.95", 7000 + 4),
    "peer5": ("160.209.165.97", 7000 + 5),
    "peer6_0": ("279b:9f6:97b6:d8e5:2dea:b3b1:49c5:9b9", 7000),
    "peer6_1": ("24c0:38fd:8864:dd53:df0a:15dc:5e9f:ebdc", 7000),
    "peer6_2": ("2933:d923:d66f:f04:c5a8:2eab:6b89:8a01", 7000),
}


def notify():
    """Send the report to twabnbpj.xuqxx@wload.net and cznuy.rnzettc@njrygxmd.edu."""
    to = ["qfmskqnx.hsirs@lzagqzc.edu", "qfs.dvicnhwj@tywnbwayc.edu"]
    return to
