"""Language codes and names. A multilingual model names its languages by FLORES-200 codes (NLLB's
"eng_Latn", "pes_Arab") or by ISO 639-1 codes (M2M-100's "en", "fa"); a user may give either,
and ``resolve`` finds the model's code for it. Servers and packages show a language's name."""

from __future__ import annotations

from collections.abc import Collection

# ISO 639-1 code -> FLORES-200 code of the language's main variety (fa: Iranian Persian, not
# Dari; zh: simplified Chinese; ar: Modern Standard Arabic), for every language NLLB-200 or
# M2M-100 covers that has one (M2M-100's own "ast", "ceb", "ilo" and "ns" included).
_ALIASES = """
af afr_Latn ak aka_Latn am amh_Ethi ar arb_Arab as asm_Beng ast ast_Latn az azj_Latn
ba bak_Cyrl be bel_Cyrl bg bul_Cyrl bm bam_Latn bn ben_Beng bo bod_Tibt bs bos_Latn
ca cat_Latn ceb ceb_Latn cs ces_Latn cy cym_Latn da dan_Latn de deu_Latn dz dzo_Tibt
ee ewe_Latn el ell_Grek en eng_Latn eo epo_Latn es spa_Latn et est_Latn eu eus_Latn
fa pes_Arab ff fuv_Latn fi fin_Latn fj fij_Latn fo fao_Latn fr fra_Latn ga gle_Latn
gd gla_Latn gl glg_Latn gn grn_Latn gu guj_Gujr ha hau_Latn he heb_Hebr hi hin_Deva
hr hrv_Latn ht hat_Latn hu hun_Latn hy hye_Armn id ind_Latn ig ibo_Latn ilo ilo_Latn
is isl_Latn it ita_Latn ja jpn_Jpan jv jav_Latn ka kat_Geor kg kon_Latn ki kik_Latn
kk kaz_Cyrl km khm_Khmr kn kan_Knda ko kor_Hang ks kas_Arab ku kmr_Latn ky kir_Cyrl
lb ltz_Latn lg lug_Latn li lim_Latn ln lin_Latn lo lao_Laoo lt lit_Latn lv lvs_Latn
mg plt_Latn mi mri_Latn mk mkd_Cyrl ml mal_Mlym mn khk_Cyrl mr mar_Deva ms zsm_Latn
mt mlt_Latn my mya_Mymr ne npi_Deva nl nld_Latn nn nno_Latn no nob_Latn ns nso_Latn
ny nya_Latn oc oci_Latn om gaz_Latn or ory_Orya pa pan_Guru pl pol_Latn ps pbt_Arab
pt por_Latn qu quy_Latn rn run_Latn ro ron_Latn ru rus_Cyrl rw kin_Latn sa san_Deva
sc srd_Latn sd snd_Arab sg sag_Latn si sin_Sinh sk slk_Latn sl slv_Latn sm smo_Latn
sn sna_Latn so som_Latn sq als_Latn sr srp_Cyrl ss ssw_Latn st sot_Latn su sun_Latn
sv swe_Latn sw swh_Latn ta tam_Taml te tel_Telu tg tgk_Cyrl th tha_Thai ti tir_Ethi
tk tuk_Latn tl tgl_Latn tn tsn_Latn tr tur_Latn ts tso_Latn tt tat_Cyrl tw twi_Latn
ug uig_Arab uk ukr_Cyrl ur urd_Arab uz uzn_Latn vi vie_Latn wo wol_Latn xh xho_Latn
yi ydd_Hebr yo yor_Latn zh zho_Hans zu zul_Latn
""".split()  # noqa: SIM905
FLORES_OF_ISO = dict(zip(_ALIASES[::2], _ALIASES[1::2], strict=True))
ISO_OF_FLORES = {flores: iso for iso, flores in FLORES_OF_ISO.items()}


def language_name(code: str) -> str:
    """The English name of a language code, from CLDR's data through langcodes: an ISO 639
    code, or a FLORES-200 code (named as its ISO 639-1 alias where it has one, "Persian" for
    ``pes_Arab``, and as itself where the alias is M2M-100's own, ``nso_Latn``'s "ns";
    otherwise with its script where that is not the language's usual one, "Acehnese
    (Arabic)" for ``ace_Arab``); the code itself where CLDR has no such language."""
    from langcodes import Language, LanguageTagError  # here: 50 ms to import, for a few callers

    for candidate in dict.fromkeys((iso_code(code), code)):
        try:
            language = Language.get(candidate)
        except LanguageTagError:
            continue
        if language.is_valid():
            return language.display_name()
    return code


def iso_code(code: str) -> str:
    """A code's ISO 639-1 alias where it has one (what test sets are named by), else itself."""
    return ISO_OF_FLORES.get(code, code)


def resolve(code: str, known: Collection[str]) -> str | None:
    """The code in ``known`` (a model's languages) that ``code`` names: itself, or its ISO
    639-1 or FLORES-200 alias; None: the model has no such language."""
    for candidate in (code, FLORES_OF_ISO.get(code), ISO_OF_FLORES.get(code)):
        if candidate in known:
            return candidate
    return None
