"""What a flow is: its trigger, condition and step blocks (``blocks``), the event kinds they
listen to (``kinds``), its steps as a tree (``tree``), activation checks (``validation``) and
plain-language descriptions (``describe``) — none of which reads the database — and the
evaluation of conditions and triggers against it (``conditions``, ``triggers``).
"""
