"""Words and sentence templates of the generated corpus (``benchmarks.generated``).

Real English vocabulary, embedded so that nothing is downloaded. In a template
``{key}`` is a word of ``WORDS[key]`` (or of the story: ``P`` a person's full
name, ``S`` the surname, ``org``, ``place``, ``thing``, ``event``, with ``2``
for a second one), and ``[a|b]`` is one of the alternatives.
"""

from __future__ import annotations

__all__ = ["QUOTES", "SENTENCES", "SYNONYMS", "TITLES", "TOPIC_WORDS", "WORDS"]

# Lists are space-separated words, or "|"-separated phrases.
WORDS = {
    "first": "James Sarah David Emma Michael Laura Daniel Helen Peter Rachel Andrew Claire "
    "Thomas Anna Richard Karen Simon Julia Mark Fiona Paul Alice Robert Grace Stephen Nadia "
    "Chris Ruth Martin Priya Ian Sophie Neil Hannah Gareth Megan Owen Lucy Colin Joanna",
    "last": "Smith Jones Taylor Brown Williams Wilson Johnson Davies Evans Thomas Roberts "
    "Walker Wright Robinson Thompson White Hughes Edwards Green Hall Wood Harris Clarke "
    "Jackson Turner Hill Moore Cooper Ward Morris King Baker Patel Khan Lewis Price Bennett "
    "Murray Fraser Kelly",
    "place": "London Manchester Birmingham Leeds Glasgow Edinburgh Cardiff Belfast Bristol "
    "Liverpool Newcastle Sheffield Nottingham Leicester Southampton Brighton Oxford Cambridge "
    "York Aberdeen Dundee Swansea Norwich Exeter Plymouth Coventry Hull Derby Reading Luton",
    "day": "Monday Tuesday Wednesday Thursday Friday Saturday Sunday",
    "month": "January February March April May June July August September October "
    "November December",
    "adj": "new major fresh early long-awaited controversial ambitious modest surprising "
    "costly bold delayed revised final",
    "adj2": "unfair premature necessary reckless overdue sensible risky welcome pointless vital",
    "verb": "boost cut change replace delay expand protect review reduce double limit "
    "support threaten transform",
    "moved": "rose fell climbed dropped jumped slipped increased declined",
    "pastverb": "announced delayed defended criticised welcomed rejected approved questioned "
    "backed scrapped",
    "feeling": "confident worried delighted cautious optimistic disappointed encouraged",
    "period": "two years|three months|five years|the next decade|the coming season|"
    "the summer|eighteen months",
    "ord": "second third fourth fifth sixth",
    "few": "two three four six nine eighteen",
}
TOPIC_WORDS = {
    "business": (
        "Harbour Group|Northgate Bank|Castle Retail|Meridian Energy|Sterling Foods|"
        "Atlas Airways|Beacon Insurance|Crown Steel|Vale Telecom|Summit Motors",
        "chief executive|finance director|chairman|senior economist|spokeswoman|analyst",
        "profits|sales|shares|prices|wages|exports|orders|costs|savings|investments",
        "takeover|merger|rescue deal|share offer|price cut|restructuring|expansion plan",
        "customers|workers|shareholders|savers",
    ),
    "entertainment": (
        "Royal Opera House|National Theatre|Pinewood Studios|Channel Five|Arts Council|"
        "Film Institute|Empire Records|Globe Pictures",
        "director|producer|singer|actress|actor|critic|presenter|festival organiser",
        "films|albums|concerts|tickets|shows|awards|songs|novels|festivals|ratings",
        "premiere|tour|awards ceremony|box office run|new series|reunion concert",
        "fans|viewers|guests|listeners",
    ),
    "politics": (
        "Home Office|Treasury|Labour Party|Conservative Party|Liberal Democrats|"
        "Foreign Office|Electoral Commission|Commons committee",
        "minister|shadow chancellor|MP|party leader|councillor|civil servant|campaigner",
        "taxes|votes|reforms|schools|hospitals|benefits|police|pensions|budgets|elections",
        "general election|spending review|inquiry|Commons vote|party conference|consultation",
        "voters|residents|families|pensioners",
    ),
    "sport": (
        "Football Association|England team|Wales squad|Rugby Football Union|"
        "Lawn Tennis Association|Premier League|Olympic committee|county side",
        "coach|manager|captain|striker|goalkeeper|winger|sprinter|chairman",
        "goals|matches|points|tickets|fans|players|titles|medals|injuries|fixtures",
        "cup final|semi-final|title race|transfer|world championship|derby",
        "fans|supporters|spectators|members",
    ),
    "tech": (
        "Orbit Software|Pixel Games|Nova Networks|Bright Mobile|Signal Labs|Cloudline|"
        "Data Guard|Vale Telecom",
        "engineer|developer|researcher|technology officer|security expert|analyst",
        "phones|computers|downloads|games|networks|devices|websites|viruses|chips|passwords",
        "product launch|software update|security flaw|broadband rollout|online service|data breach",
        "users|customers|gamers|subscribers",
    ),
}
TITLES = (
    "{org} to {verb} {thing}",
    "{place} {thing} {moved} {pct}%",
    "{S} {pastverb} {event} plan",
    "{adj} {event} for {place}",
    "{thing} [fears|hopes|row|boost] [for|in|over] {place}",
    "{org} [faces|backs|wins] {event} [vote|fight|deal]",
)
SENTENCES = (
    "{P}, the {role} of {org}, [said|told reporters|confirmed] on {day} that the {adj} "
    "{event} would {verb} {thing} [across|in] {place}.",
    '"We are {feeling} about the {event} and we [expect|hope] to {verb} {thing} by {month}," '
    "{S} said.",
    "Figures [published|released] on {day} showed {thing} in {place} {moved} by {pct}% "
    "[compared with|from] {month} last year.",
    "{S} [added|said] that the {adj} {event} had been {pastverb} after [talks|a meeting] "
    "with {org2}.",
    "Critics [say|argue] the {event} will {verb} {thing} in {place}, but {org} [insists|says] "
    "it is {adj2}.",
    "It is the {ord} time [this year|in {period}] that {org} has {pastverb} [a|its] {event}.",
    "Analysts at {org2} said the {event} could {verb} [as many as|about|more than] {n} "
    "{thing2} [over|within] {period}.",
    "The {adj} plan comes after {few} months of [talks|negotiations|argument] between {org} "
    "and {org2}.",
    '{P2}, a {role2} [from|based in] {place2}, said: "{quote}"',
    "[Last|On] {day}, {org2} {pastverb} [the|a] {adj} [report|proposal|offer] on {thing2}.",
    "{S2} [warned|argued|suggested] that {thing} [could|might] {verb} [if|unless] the {event} "
    "went ahead.",
    "[About|Around|Nearly] {n} {people} [attended|watched|joined] the {event2} in {place2} "
    "on {day}.",
    "The [decision|move|announcement] [was|has been] {pastverb} by {org2}, which [said|claims] "
    "it will {verb} {thing2}.",
    "{org} [has|had] [already|previously] {pastverb} [its|a] {adj} [target|forecast|plan] "
    "for {thing}.",
    "[A spokeswoman|A spokesman] for {org} [said|declined to say] whether the {event} would "
    "{verb} {thing2}.",
    "{S} [is|was] [expected|due] to [meet|speak to|write to] {org2} [next week|later this "
    "month|in {month}].",
    "The {event} [is|was] [worth|valued at] [about|around|nearly] {money}, [according to|said] "
    "{org2}.",
    "Under the [plans|proposals|deal], {thing} in {place} would {verb} [from|by] {month}.",
    "{org2} [has|had] [said|claimed] that {thing2} [rose|fell|doubled|halved] [last year|in "
    "{month}|over {period}].",
    '[But|However,] {S2} [said|told the BBC|told reporters] the {event} [was|is] "{adj2}" and '
    "[should|must] be {pastverb}.",
    "{P2} said {people} in {place2} [had|have] [waited|asked|campaigned] for the {event} "
    "[for|over] {period}.",
    "[Hopes|Doubts|Questions] about the {event} [grew|faded|lingered] after {S} [admitted|said] "
    "that {thing2} {moved} in {month}.",
)
QUOTES = (
    "This is a {adj} [moment|step|decision] for {place2} and for {thing}.",
    "We [have|had] to {verb} {thing} [before|by] {month}, whatever {org} says.",
    "Nobody [expected|wanted] the {event} to {verb} {thing2} so [quickly|soon].",
    "It is [too early|hard] to say what the {event} will mean for {people} here.",
)
# Swaps an editor might make: near copies differ by a few of these.
_SWAPS = (
    "said:stated would:will could:might might:could about:around nearly:almost "
    "expected:likely talks:discussions plan:scheme plans:proposals told:informed new:fresh "
    "major:big warned:cautioned added:continued rose:grew fell:slid months:weeks "
    "showed:revealed critics:opponents"
)
SYNONYMS = dict(pair.split(":") for pair in _SWAPS.split(" "))
