"""GB/T 28181-2016: IDs, MANSCDP bodies and the platform roles built on the SIP layer."""
