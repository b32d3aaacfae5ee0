"""Numbers the chapters quote in their prose, read from the kept paper-profile snapshots.

The paper profile takes about a day on two cores, so the book quotes its numbers from
the results kept under ``book/snapshots/paper/`` rather than recomputing them. Each
function returns ``{glue name: value}`` for one chapter; :func:`glue_all` hands such a
dict to myst-nb's ``glue`` so that the prose quotes it with ``{glue:text}``. Older
snapshots kept their tables as printed text; :mod:`dreamrg.display` parses them back.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from dreamrg import display, tables, verdicts
from dreamrg.paper_values import PRINTED_III, PRINTED_IV
from dreamrg.stats import format_estimate


def glue_all(values: dict[str, Any]) -> None:
    """``glue`` every ``name: value`` of ``values`` (not displayed; quoted with ``{glue:text}``)."""
    from myst_nb import glue

    for name, value in values.items():
        glue(name, value, display=False)


#: characters that Markdown would read as markup in a plain sentence
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>#|$])")


def glue_sentence(name: str, text: str) -> None:
    """``glue`` the plain sentence ``text`` as Markdown, with its markup characters escaped, to be quoted with
    ``{glue:md}`` in the running text (``{glue:text}`` sets a pasted value in bold, which suits a number but not a
    sentence)."""
    from IPython.display import Markdown
    from myst_nb import glue

    glue(name, Markdown(_MARKDOWN_SPECIAL.sub(r"\\\1", text)), display=False)


def _has_column(*names: str):
    """A test for :func:`dreamrg.display.kept_table`: the table has every column of ``names``."""
    return lambda t: all(n in t.columns for n in names)


def _one(items, matches, what: str):
    """The first of ``items`` that ``matches``; one clear ``LookupError`` naming ``what`` and the items if none does."""
    for item in items:
        if matches(item):
            return item
    raise LookupError(f"no {what}; there are: {', '.join(map(str, items))}")


def kept_table_ii() -> pd.DataFrame:
    """The FSS chapter's kept Table II, both exponents, in the form of :func:`dreamrg.tables.table_ii`.

    Snapshots kept before the table was shown in two halves hold it whole; later ones hold the
    γ/ν and the 1/ν half as two tables, which are joined here on their rows.
    """
    gamma, inv_nu = (display.kept_table('fss', _has_column(f'{name} (128, 32) paper'),
                                        f"Table II's {name} columns (a '{name} (128, 32) paper' column)")
                     for name in ('γ/ν', '1/ν'))
    if '1/ν (128, 32) paper' in gamma.columns:  # kept whole
        return gamma
    return gamma.join(inv_nu)  # the same rows, in the same order


def fss_kept() -> dict[str, Any]:
    """The FSS chapter's quoted numbers: Table II of the k=7 model and the seed spread of the weighted models."""
    out: dict[str, Any] = {}
    kept_ii = kept_table_ii()
    kept_seeds = display.kept_table('fss', lambda t: 'training seed' in str(t.index.name),
                                    "seed-spread table (indexed by 'training seed')")
    kept_long = tables.long_from_table_ii(kept_ii)
    ours_w = kept_long[kept_long['row'].str.fullmatch('k=\\d, w\\.') & kept_long['quantity'].str.startswith('γ/ν')]
    below = ours_w['paper'].map(lambda t: float(t)) - ours_w['value']
    spread = float(kept_seeds['γ/ν'].iloc[-1].split('±')[1])
    out['kept_k7_gamma'] = str(kept_ii.loc['k=7', 'γ/ν (128, 32)'])
    out['kept_k7_gamma_paper'] = str(kept_ii.loc['k=7', 'γ/ν (128, 32) paper'])
    out['kept_w_below_min'] = float(below.min())
    out['kept_w_below_max'] = float(below.max())
    gamma = kept_long[kept_long['quantity'] == 'γ/ν (128, 32)'].set_index('row')
    out['kept_k7w_gap'] = float(gamma.loc['authors k=7, w.', 'value']) - float(gamma.loc['k=7, w.', 'value'])
    out['kept_seed_spread'] = spread
    out['kept_seed_ratio'] = round(spread / float(gamma.loc['k=5, w.', 'error']), -2)
    out['kept_origin_fss'] = display.kept_origin('fss')
    return out


def mcrg_kept() -> dict[str, Any]:
    """The MCRG chapter's quoted numbers: the truncation scan and the third exponents, MC and dreamed."""
    out: dict[str, Any] = {}
    kept_trunc = display.kept_table('mcrg', _has_column('odd ops'), "truncation scan (an 'odd ops' column)")
    kept_first = kept_trunc[kept_trunc['step'] == kept_trunc['step'].iloc[0]]
    y_h = [tables.parse_estimate(t)[0] for t in kept_first['y_h']]
    out['kept_trunc_L'] = str(kept_first['L'].iloc[0])
    out['kept_trunc_configs'] = str(kept_first['configs'].iloc[0])
    out['kept_trunc_yh_min'] = min(y_h)
    out['kept_trunc_yh_max'] = max(y_h)
    out['kept_trunc_yh_gap'] = min(y_h) - float(PRINTED_III[int(kept_first['L'].iloc[0])]['y_h'].split('(')[0])
    out['kept_trunc_paper_yh'] = PRINTED_III[int(kept_first['L'].iloc[0])]['y_h']
    out['kept_trunc_yt_nn'] = kept_first['y_t'].iloc[0]
    out['kept_trunc_yt_all'] = kept_first['y_t'].iloc[-1]
    out['kept_trunc_paper_yt'] = PRINTED_III[int(kept_first['L'].iloc[0])]['y_t']
    # 'L' too: the conventions view of section "What the paper's MCRG numbers are" has 'third' and 'step' as well
    kept_third = display.kept_table('mcrg', _has_column('third', 'step', 'L', 'configs'),
                                    "MC third-exponent table ('third', 'step', 'L' and 'configs' columns)"
                                    ).set_index(['L', 'step'])
    for (L, step), third in kept_third['third'].items():
        out[f"kept_third_{L}_{step.split('→')[0]}"] = third
    kept_dreamed = display.kept_table('mcrg', _has_column('third', 'B1'),
                                      "dreamed third-exponent table ('third' and 'B1' columns)")
    third = {m: tables.parse_estimate(t)[0] for m, t in kept_dreamed['third'].items()}
    lifted = [v for m, v in third.items() if m.removeprefix('authors ') in ('k=5, w.', 'k=7, w.')]
    out['kept_lifted_min'] = min(lifted)
    out['kept_lifted_max'] = max(lifted)
    out['kept_others_max'] = max(abs(v) for m, v in third.items()
                                 if m.removeprefix('authors ') not in ('k=5, w.', 'k=7, w.'))
    b1 = [tables.parse_estimate(t)[0] for t in kept_dreamed['B1']]
    out['kept_b1_max'] = max(b1)
    out['kept_b1_min'] = min(b1)
    out['kept_origin_mcrg'] = display.kept_origin('mcrg')
    return out


def status_kept() -> tuple[dict[str, Any], pd.DataFrame]:
    """The status page's quoted numbers (Tables III and IV at the paper profile) and the kept tables, judged.

    The numbers of both blocking steps come from the MCRG chapter's kept Table III (``III, step 1`` and
    ``III, step 2`` rows) and its truncation scan; the judged tables from the status page's own kept snapshot,
    whose every number of Tables II, III and IV (with the paper's conventions) is judged again here with the
    current rule of :func:`dreamrg.verdicts.judge`.

    Returns
    -------
    quotes : dict
        ``{glue name: value}``.
    kept : pandas.DataFrame
        Every number of the kept Tables II, III and IV, with its verdict.
    """
    out: dict[str, Any] = {}
    kept_iii = tables.long_from_formatted(display.kept_table(
        'mcrg', lambda t: 'table' in t.columns and t['table'].astype(str).eq('III, step 1').any()
        and t['row'].astype(str).eq('L=32').any(), "Table III at both blocking steps ('III, step 1' rows)"))
    at = kept_iii.set_index(['table', 'row', 'quantity'])
    out['kept_origin_iii'] = display.kept_origin('mcrg')
    out['kept_iii_configs'] = f"{int(at.loc[('III, step 2', 'L=512', 'y_h'), 'statistics'].split()[0]):,}"
    for L in (32, 128, 512):
        out[f'iii_s1_{L}'] = at.loc[('III, step 1', f'L={L}', 'y_h'), 'ours']
        out[f'iii_s2_{L}'] = at.loc[('III, step 2', f'L={L}', 'y_h'), 'ours']
        out[f'iii_yt_{L}'] = at.loc[('III, step 2', f'L={L}', 'y_t'), 'ours']
    for L in (32, 128, 512, 1024):
        out[f'iii_p_{L}'] = PRINTED_III[L]['y_h']
    out['iii_pyt_32'] = PRINTED_III[32]['y_t']
    out['iii_pyt_1024'] = PRINTED_III[1024]['y_t']
    first = at.loc['III, step 1'].xs('y_h', level='quantity')
    out['iii_s1_zmin'] = min(tables.z_score(v, e, PRINTED_III[int(r[2:])]['y_h'])
                             for r, v, e in zip(first.index, first['value'], first['error']))
    s2 = at.loc['III, step 2', 'L=512', 'y_h']
    out['iii_s2_z512'] = tables.z_score(s2['value'], s2['error'], PRINTED_III[512]['y_h'])
    out['iii_s2_z1024'] = tables.z_score(s2['value'], s2['error'], PRINTED_III[1024]['y_h'])
    kept_trunc = display.kept_table('mcrg', _has_column('odd ops'), "truncation scan (an 'odd ops' column)")
    first_rows = kept_trunc['step'] == kept_trunc['step'].iloc[0]
    first_step = [tables.parse_estimate(t)[0] for t in kept_trunc.loc[first_rows, 'y_h']]
    out['iii_trunc_min'] = min(first_step)
    out['iii_trunc_max'] = max(first_step)
    out['iv_eta_p'] = PRINTED_IV['MC']['eta_rsrg']
    for step in (1, 2):  # Table IV's MC η-RSRG is 4 − 2 y_h of Table III's L = 128 row
        y_h = at.loc[f'III, step {step}', 'L=128', 'y_h']
        eta, eta_err = 4 - 2 * y_h['value'], 2 * y_h['error']
        out[f'iv_eta_s{step}'] = format_estimate(eta, eta_err)
    out['iv_eta_z'] = tables.z_score(eta, eta_err, out['iv_eta_p'])  # the paper's value is the second step's
    out['kept_origin_status'] = display.kept_origin('status')
    judged = display.kept_table('status', _has_column('table', 'row', 'quantity', 'ours ± error', 'verdict'),
                                "judged table ('table', 'row', 'quantity', 'ours ± error' and 'verdict' columns)")
    long = tables.long_from_formatted(judged.rename(columns={'ours ± error': 'ours'}))
    kept = verdicts.judge(long[long['table'].astype(str).isin(('II', 'III', 'IV'))].reset_index(drop=True))
    out['kept_rows'] = len(kept)
    return out, kept


def offcritical_kept() -> dict[str, Any]:
    """The off-critical chapter's quoted numbers from its kept paper-profile verdict table: per side (MC and the
    three schemes) the cells of K_c (interpolated crossing), ν, the worst energy deviation and the U4 share."""
    kept = display.kept_table('offcritical', lambda t: t.index.name == 'quantity',
                              "verdict table (indexed by 'quantity')")
    rows = {'Kc': _one(kept.index, lambda q: q.startswith('K_c') and q.endswith('interpolated'),
                       "row 'K_c … interpolated' of the kept off-critical verdict table"),
            'nu': _one(kept.index, lambda q: q.startswith('ν'), "row 'ν …' of the kept off-critical verdict table"),
            'e': _one(kept.index, lambda q: q.startswith('worst |<e>'),
                      "row 'worst |<e> …' of the kept off-critical verdict table"),
            'U4': _one(kept.index, lambda q: q.startswith('U4'), "row 'U4 …' of the kept off-critical verdict table")}
    sides = {'mc': 'MC', 'naive': 'naive', 'flow': 'flow',
             'mcs': _one(kept.columns, lambda c: c.startswith('MC start'),
                         "column 'MC start …' of the kept off-critical verdict table")}
    out: dict[str, Any] = {'kept_origin_offcritical': display.kept_origin('offcritical')}
    for side, column in sides.items():
        for row, quantity in rows.items():
            cell = kept.loc[quantity, column]
            out[f'offk_{side}_{row}'] = '—' if cell is None or pd.isna(cell) else str(cell)
    return out | _offcritical_hot(sides['mcs'])


def _offcritical_hot(start: str) -> dict[str, Any]:
    """The Monte Carlo start at the highest temperature kept: its energy against Kaufman's, its U4 against MC.

    ``start`` is the scheme's column name ('MC start L=16'). The U4 table is the first of the chapter's
    per-(K, L) comparison tables (the chapter shows U4, then χ, then <|m|>).
    """
    energies = display.kept_table('offcritical', _has_column('<e> exact (Kaufman)', 'L', f'<e> {start}'),
                                  f"per-(K, L) energy table (a '<e> {start}' column)")
    u4 = display.kept_table('offcritical', _has_column('L', 'MC', start, f'({start} − MC)/σ'),
                            f"per-(K, L) U4 table ('MC' and '{start}' columns)")
    K = min(energies['K/K_c'].astype(float))  # kept as printed text ('0.900')
    e = energies[(energies['K/K_c'].astype(float) == K) & (energies[f'<e> {start}'] != '—')].set_index('L')
    z = u4[u4['K/K_c'].astype(float) == K].set_index('L')[f'({start} − MC)/σ']
    L = int(max(e.index))

    def deficit(row) -> str:  # per cent below Kaufman's energy
        return f"{100 * (1 - tables.parse_estimate(row[f'<e> {start}'])[0] / float(row['<e> exact (Kaufman)'])):.0f}"

    at_kc = energies[(energies['K/K_c'].astype(float) == 1.0) & (energies['L'] == L)]
    exact = float(e.loc[L, '<e> exact (Kaufman)'])
    return {'offk_hot_K': f'{K:.2f}', 'offk_hot_L': str(L), 'offk_hot_e': str(e.loc[L, f'<e> {start}']),
            'offk_hot_e_exact': f'{exact:.6f}', 'offk_hot_e_pct': deficit(e.loc[L]),
            'offk_kc_e_pct': deficit(at_kc.iloc[0]) if len(at_kc) else '—',
            'offk_hot_e_z': f"{float(e.loc[L, f'({start} − exact)/σ']):.0f}".replace('-', '−'),
            'offk_hot_u4_z': ', '.join(f'{float(z[n]):+.1f} σ at L = {n}'.replace('-', '−')
                                       for n in sorted(z.index) if pd.notna(z[n]))}
