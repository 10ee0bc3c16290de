"""How a request can fail on the network: each failure named as what it is, all of them TransportError."""


class TransportError(Exception):
    """The request could not be completed over the network (what retry.as_transient turns into a retry)."""


class ConnectError(TransportError):
    pass


class ConnectTimeout(TransportError):
    pass


class ReadTimeout(TransportError):
    pass


class WriteTimeout(TransportError):
    pass


class ReadError(TransportError):
    pass


class WriteError(TransportError):
    pass


class RemoteProtocolError(TransportError):
    """The server broke HTTP: closed without an answer, a short body, a line that does not parse."""


class ProxyError(TransportError):
    pass
